"""Opaque keyset cursors: base64url JSON of the last row's sort key, checked on the way back in."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

from .errors import ParameterError

MAX_CURSOR_LENGTH = 512


def encode_cursor(report: str, key: Sequence[Any]) -> str:
    raw = json.dumps({"r": report, "k": [_plain(value) for value in key]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(report: str, cursor: str | None, parsers: Sequence[Callable[[Any], Any]]) -> tuple | None:
    """The sort key a cursor of this report carries, each part checked by its parser; 422 otherwise."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())
        if not isinstance(payload, dict) or payload.get("r") != report:
            raise ValueError
        key = payload["k"]
        if not isinstance(key, list) or len(key) != len(parsers):
            raise ValueError
        return tuple(parse(value) for parse, value in zip(parsers, key))
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error, OverflowError):
        raise ParameterError("cursor") from None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


# parsers for cursor parts: reject anything but exactly the type the key holds
def as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**62:
        raise ValueError
    return value


def as_text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 100 or "\x00" in value:
        raise ValueError
    return value


def as_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(as_text(value))


def as_timestamp(value: Any) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(as_text(value))
    if parsed.tzinfo is not None:
        raise ValueError
    return parsed


def page(report: str, rows: list, limit: int, sort_key: Callable[[Any], Sequence[Any]]) -> tuple[list, str | None]:
    """Rows of one page (the query fetched limit + 1) and the cursor of the next, if any."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(report, sort_key(rows[-1]))
