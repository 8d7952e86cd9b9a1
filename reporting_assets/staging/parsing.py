"""Turning the billing database's loosely typed values into exact ones.

SQLite does not enforce types: an amount may be an int, a float (``10.005``) or text
(``'12.50'``, ``'abc'``); a date may carry a time part or be garbage. Amounts become
integer cents rounded half-up once (a float read by its shortest round-trip form, so
``10.005`` is 10.005 and becomes 1001 cents); dates become their date part. Values that
cannot be read become missing, and the pandera rules in ``schemas`` reject them.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np
import pandas as pd

CENT = Decimal("0.01")
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
# Far beyond NUMERIC(10,2) but inside int64: amounts this large are kept (clamped) so the
# "exceeds NUMERIC(10,2)" rule, not an overflow, rejects them.
CLAMP_CENTS = 10**15
# ISO date, optionally with an ISO time part (and fraction / offset), which is ignored. No
# surrounding blanks: the sensor counts a day's rows by text range, so the two must agree.
_ISO_DATE = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?$")


def to_decimal(value: object) -> Decimal | None:
    """The exact amount a source value denotes, half-up to the cent; None if it is not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        text = repr(value)  # shortest round-trip form
    elif isinstance(value, (str, bytes)):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        text = text.strip()
        if not _DECIMAL_TEXT.fullmatch(text):  # ASCII digits as written: no '1_000', no other scripts' digits
            return None
    else:
        return None
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    if abs(number) >= CLAMP_CENTS:
        return Decimal(CLAMP_CENTS) if number > 0 else Decimal(-CLAMP_CENTS)
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def _objects(values: pd.Series | list[object]) -> np.ndarray:
    """The values as an object array, each value as it is (a fourth of the time ``pd.Series(values,
    dtype=object)`` takes to build one from a list)."""
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=object)
    objects = np.empty(len(values), dtype=object)
    objects[:] = values
    return objects


def _kinds(values: list[object]) -> tuple[np.ndarray, np.ndarray]:
    n = len(values)
    is_float = np.fromiter((type(v) is float for v in values), dtype=bool, count=n)
    is_int = np.fromiter((type(v) is int for v in values), dtype=bool, count=n)
    return is_float, is_int


def parse_amount_cents(values: list[object]) -> pd.Series:
    """Amounts as exact integer cents (nullable Int64; missing where the value is not a finite number)."""
    n = len(values)
    cents = np.zeros(n, dtype=np.int64)
    known = np.zeros(n, dtype=bool)
    objects = _objects(values)
    is_float, is_int = _kinds(values)

    floats = objects[is_float].astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.rint(floats * 100)
        # the float is exactly the double nearest to scaled/100, so its shortest repr is that decimal
        exact = np.isfinite(floats) & (np.abs(floats) < 1e13) & (scaled / 100 == floats)
    float_idx = np.flatnonzero(is_float)
    cents[float_idx[exact]] = scaled[exact].astype(np.int64)
    known[float_idx[exact]] = True

    ints = objects[is_int]
    small = np.fromiter((abs(v) < 10**13 for v in ints), dtype=bool, count=len(ints))
    int_idx = np.flatnonzero(is_int)
    cents[int_idx[small]] = np.array([v * 100 for v in ints[small]], dtype=np.int64)
    known[int_idx[small]] = True

    rest = np.flatnonzero(~known & (objects != None))  # noqa: E711 - elementwise comparison
    for i in rest:
        number = to_decimal(objects[i])
        if number is not None:
            cents[i] = int(number * 100)
            known[i] = True
    return pd.Series(pd.arrays.IntegerArray(cents, ~known))


def cents_to_decimal(cents: int) -> Decimal:
    """Exact dollars of integer cents (two places)."""
    return Decimal(int(cents)).scaleb(-2)


def per_distinct(values: pd.Series | list[object], parse) -> pd.Series:
    """Apply a vectorized parser (or check) to each distinct value once and spread the results back
    to every row, position by position; missing where the value is missing. Dates and statuses
    repeat heavily, and so do the pseudonyms and invoice numbers the rules check (schemas)."""
    codes, uniques = pd.factorize(_objects(values), use_na_sentinel=True)
    parsed = parse(pd.Series(uniques, dtype=object))
    result = parsed.take(np.where(codes >= 0, codes, 0)).reset_index(drop=True) if len(parsed) else parsed.reindex(range(len(codes)))
    return result.where(codes >= 0, None) if result.dtype == object else result.where(codes >= 0)


def parse_dates(values: pd.Series | list[object]) -> pd.Series:
    """Date part of ISO dates/timestamps as datetime64 (midnight); NaT for anything else."""
    return per_distinct(values, _parse_distinct_dates).astype("datetime64[ns]")


def _parse_distinct_dates(series: pd.Series) -> pd.Series:
    is_text = np.fromiter((type(v) is str for v in series), dtype=bool, count=len(series))
    text = series.where(is_text, None)
    lengths = text.str.len()
    plain = lengths == 10
    # only values longer than a date need the full pattern; a plain date is checked by the parser
    timestamped = is_text & ~plain.fillna(False).to_numpy()
    well_formed = plain.fillna(False).to_numpy().copy()
    if timestamped.any():
        well_formed[timestamped] = text[timestamped].str.fullmatch(_ISO_DATE).fillna(False).to_numpy()
    head = text.str.slice(0, 10).where(well_formed, None)
    return pd.to_datetime(head, format="%Y-%m-%d", errors="coerce")


def normalize_status(values: pd.Series | list[object]) -> pd.Series:
    """Trimmed, lower-cased status text; missing for non-text values."""
    return per_distinct(values, _normalize_distinct_statuses).astype(object)


def _normalize_distinct_statuses(series: pd.Series) -> pd.Series:
    is_text = np.fromiter((type(v) is str for v in series), dtype=bool, count=len(series))
    return series.where(is_text, None).str.strip().str.lower().astype(object).where(is_text, None)


_INT64_MIN = np.iinfo(np.int64).min


def int_keys(values: list[object]) -> tuple[np.ndarray, np.ndarray]:
    """Integer keys as int64 and a mask of the values that are integers (NULL and text are not)."""
    objects = _objects(values)
    # where every value is an int or NULL (a clean source), numpy converts them in C; a bool, float or
    # text among them, or an int beyond int64, takes the per-value path below
    if pd.api.types.infer_dtype(objects, skipna=True) in ("integer", "empty"):
        try:
            try:
                keys, mask = objects.astype(np.int64), np.ones(len(values), dtype=bool)
            except (TypeError, ValueError):  # a NULL among them
                mask = ~pd.isna(objects)
                keys = np.zeros(len(values), dtype=np.int64)
                keys[mask] = objects[mask].astype(np.int64)
        except OverflowError:
            pass
        else:
            lowest = keys == _INT64_MIN  # -2**63 is outside the range the per-value path accepts
            mask &= ~lowest
            keys[lowest] = 0
            return keys, mask
    mask = np.fromiter((type(v) is int and -(2**63) < v < 2**63 for v in values), dtype=bool, count=len(values))
    keys = np.fromiter((v if ok else 0 for v, ok in zip(values, mask)), dtype=np.int64, count=len(values))
    return keys, mask
