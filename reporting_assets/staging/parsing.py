"""Turning the billing database's loosely typed values into exact ones.

SQLite does not enforce types: an amount may be an int, a float (``10.005``) or text
(``'12.50'``, ``'abc'``); a date may carry a time part or be garbage. Amounts become
``Decimal`` rounded half-up to the cent once (a float read by its shortest round-trip
form, so ``10.005`` is 10.005 and becomes 10.01); dates become their date part. Values
that cannot be read become missing, and the pandera rules in ``schemas`` reject them.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
import pandas as pd

CENT = Decimal("0.01")
# ISO date, optionally with an ISO time part (and fraction / offset), which is ignored. No
# surrounding blanks: the source reader selects a day's rows by text range, so the two must agree.
_ISO_DATE = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?$")


def to_decimal(value: object) -> Decimal | None:
    """The exact amount a source value denotes, half-up to the cent; None if it is not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value).quantize(CENT)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        text = repr(value)  # shortest round-trip form
    elif isinstance(value, (str, bytes)):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        text = text.strip()
        if not text or len(text) > 40:
            return None
    else:
        return None
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    try:
        return number.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # too many digits for the context: far beyond NUMERIC(10,2)
        return Decimal("Infinity") if number > 0 else Decimal("-Infinity")


def parse_amounts(values: list[object]) -> list[Decimal | None]:
    """Vector form of :func:`to_decimal`, with a fast path for floats that are already whole cents."""
    out: list[Decimal | None] = [None] * len(values)
    for i, value in enumerate(values):
        if type(value) is float and math.isfinite(value):
            cents = round(value * 100)
            # value is exactly the double nearest to cents/100, so its shortest repr is that decimal
            if abs(cents) < 10**15 and cents / 100 == value:
                out[i] = Decimal(cents).scaleb(-2)
                continue
        out[i] = to_decimal(value)
    return out


def parse_dates(values: pd.Series | list[object]) -> pd.Series:
    """Date part of ISO dates/timestamps as datetime64 (midnight); NaT for anything else."""
    series = pd.Series(values, dtype=object)
    text = series.where(series.map(lambda v: isinstance(v, str)), None)
    date_part = text.str.extract(_ISO_DATE, expand=False)
    return pd.to_datetime(date_part, format="%Y-%m-%d", errors="coerce")


def normalize_status(values: pd.Series | list[object]) -> pd.Series:
    """Trimmed, lower-cased status text; None for non-text values."""
    series = pd.Series(values, dtype=object)
    return series.map(lambda v: v.strip().lower() if isinstance(v, str) else None)


def to_int_or_none(values: list[object]) -> np.ndarray:
    """Integer keys as an object array (None for NULL or non-integer values)."""
    return np.array([v if type(v) is int else None for v in values], dtype=object)
