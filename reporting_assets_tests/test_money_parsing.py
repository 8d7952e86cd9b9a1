"""Money from loosely typed source values: every amount is the decimal it denotes, rounded half-up to the cent once.

The oracle is SPEC section 4 written out independently of the code under test: a float is
read by its shortest round-trip form (``Decimal(repr(x))``), an int exactly, text as written;
then ``quantize(Decimal("0.01"), ROUND_HALF_UP)``. The cases that matter are those where
that differs from the float arithmetic a fast path would use (``round(x * 100)``: binary
artefacts such as 1.005 = 1.00499999999999989..., and round-half-even such as 0.125),
so property tests generate exactly those: three-decimal values ending in 5.
"""

from __future__ import annotations

import math
import re
import sqlite3
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reporting_assets.staging.parsing import parse_amount_cents

CENT = Decimal("0.01")
# NUMERIC(10,2) holds at most 99,999,999.99; beyond this the code keeps a clamped value so the rule rejects it
COLUMN_LIMIT_CENTS = 9_999_999_999
# amounts at or past this many dollars may be clamped (still beyond the column limit, same sign)
CLAMP_DOLLARS = Decimal(10) ** 15


# text "as written": ASCII decimal notation (no '1_000', no other scripts' digits, no 'nan'/'inf')
DECIMAL_NOTATION = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")


def oracle_number(value: object) -> Decimal | None:
    """The exact number SPEC section 4 reads from ``value``; None where it is not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        return Decimal(text) if DECIMAL_NOTATION.fullmatch(text) else None
    raise TypeError(value)  # pragma: no cover - the strategies generate nothing else


def oracle_cents(value: object) -> int | None:
    number = oracle_number(value)
    return None if number is None else int(number.quantize(CENT, rounding=ROUND_HALF_UP) * 100)


def parsed(values: list[object]) -> list[int | None]:
    return [None if pd.isna(v) else int(v) for v in parse_amount_cents(values).astype(object)]


def assert_matches_oracle(values: list[object]) -> None:
    got = parsed(values)
    assert len(got) == len(values)
    for value, cents in zip(values, got):
        number = oracle_number(value)
        if number is not None and abs(number) >= CLAMP_DOLLARS:
            # too large for any column: kept (clamped) beyond NUMERIC(10,2), with its sign, so the rule rejects it
            assert cents is not None and abs(cents) > COLUMN_LIMIT_CENTS and (cents > 0) == (number > 0), (value, cents)
        else:
            assert cents == oracle_cents(value), f"{value!r}: parsed {cents}, SPEC says {oracle_cents(value)}"


# ------------------------------------------------------------------ hand-picked cases
@pytest.mark.parametrize(
    "value, cents",
    [
        (1.005, 101),  # the double is 1.00499999999999989...: float arithmetic gives 100
        (0.125, 13),  # exactly representable: round-half-even gives 12
        (2.675, 268),  # 2.67499999999999982...: float arithmetic gives 267
        (0.005, 1),
        (10.005, 1001),  # SPEC's own example
        (1e-3, 0),
        (0.015, 2),
        (1.115, 112),
        (-1.005, -101),  # half-up is away from zero
        (-0.125, -13),
        (12.5, 1250),
        (99999999.99, 9_999_999_999),  # the largest NUMERIC(10,2)
        (99999999.995, 10_000_000_000),  # rounds past the column limit: the rule must see it
        (99999999.985, 9_999_999_999),
        (1234567890123.125, 123456789012313),  # past 1e13: not a fast-path value
        (999999999999.995, 100_000_000_000_000),
        (7, 700),
        (-3, -300),
        (10**13, 10**15),
        ("12.50", 1250),
        (" 1.005 ", 101),
        ("2.675", 268),
        ("0.125", 13),
        ("1e-3", 0),
        ("5e-3", 1),
        ("-0.005", -1),
        (".5", 50),
    ],
)
def test_amount_is_its_decimal_rounded_half_up_once(value, cents):
    assert oracle_cents(value) == cents  # the table agrees with the oracle ...
    assert parsed([value]) == [cents]  # ... and with the code, alone ...
    assert parsed([value, 1.0, "1", 1]) == [cents, 100, 100, 100]  # ... and mixed with other kinds


@pytest.mark.parametrize(
    "value", [None, True, False, float("nan"), float("inf"), -float("inf"), "abc", "", "1_000", "١٢", "1.2.3", "nan", "inf", "12,50", "0x10"]
)
def test_what_is_not_a_finite_number_is_missing(value):
    assert parsed([value, 2.675]) == [None, 268]


def test_amounts_read_back_from_sqlite_real_columns_keep_their_decimal(tmp_path):
    """The source's NUMERIC(10,2) column stores 1.005 and text '2.675' as REAL: the value read back is the float."""
    values = [1.005, 0.125, 2.675, 1e-3, "2.675", "0.125", 99999999.995, 99999999.99, 42, "12.50", "abc"]
    path = tmp_path / "amounts.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE payments (id INTEGER PRIMARY KEY, amount NUMERIC(10,2) NOT NULL)")
    conn.executemany("INSERT INTO payments (amount) VALUES (?)", [(v,) for v in values])
    conn.commit()
    read = [row[0] for row in conn.execute("SELECT amount FROM payments ORDER BY id")]
    types = [row[0] for row in conn.execute("SELECT typeof(amount) FROM payments ORDER BY id")]
    conn.close()
    assert types[:4] == ["real"] * 4 and types[4:6] == ["real", "real"] and types[-1] == "text"
    assert parsed(read) == [101, 13, 268, 0, 268, 13, 10_000_000_000, 9_999_999_999, 4200, 1250, None]


# ------------------------------------------------------------------ properties
HALF_CENT_FLOATS = st.builds(
    lambda sign, whole, cents: float(f"{sign}{whole}.{cents:02d}5"),
    st.sampled_from(["", "-"]),
    st.one_of(st.integers(0, 100), st.integers(0, 99_999_999), st.integers(0, 10**13)),
    st.integers(0, 99),
)
DECIMAL_TEXT = st.decimals(min_value=Decimal("-1e14"), max_value=Decimal("1e14"), allow_nan=False, allow_infinity=False).map(str)
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
AMOUNT = st.one_of(
    HALF_CENT_FLOATS,
    ANY_FLOAT,
    st.floats(min_value=-1e8, max_value=1e8),
    st.integers(min_value=-(10**18), max_value=10**18),
    DECIMAL_TEXT,
    HALF_CENT_FLOATS.map(repr),
    st.text(max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(HALF_CENT_FLOATS, min_size=1, max_size=20))
def test_floats_on_a_half_cent_round_half_up_like_their_shortest_decimal(values):
    assert_matches_oracle(values)


@settings(max_examples=300, deadline=None)
@given(st.lists(AMOUNT, max_size=30))
def test_any_mix_of_floats_ints_and_text_matches_the_decimal_oracle(values):
    assert_matches_oracle(values)
