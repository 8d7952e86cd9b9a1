"""(f) The naive baseline: what a straightforward pandas script would do with the same input.

pandas ``read_sql`` of the needed source columns, the same rules as the pipeline (exact
half-up decimals, HMAC pseudonyms, invalid rows filtered out, daily paid revenue with
zero days, outstanding invoices) and ``DataFrame.to_sql`` with its default method into
the same reporting tables. No staging, quarantine, audit log, Dagster or validation library.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import sqlite3
import time
import urllib.parse
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pandas as pd

from .common import BENCH_KEY

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999.99")
PAYMENT_STATUSES = ("paid", "pending", "failed", "refunded")
INVOICE_STATUSES = ("open", "paid", "void", "written_off")


def to_decimal(value):
    """The decimal a source value denotes, half-up to the cent (floats by their shortest repr); None if not a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = repr(value)
    elif isinstance(value, str):
        value = value.strip()
    try:
        number = Decimal(value)
        return number.quantize(CENT, rounding=ROUND_HALF_UP) if number.is_finite() else None
    except (InvalidOperation, ValueError, TypeError):
        return None


def parse_dates(series: pd.Series) -> pd.Series:
    text = series.where(series.map(lambda v: isinstance(v, str)), None)
    return pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")


def valid_amount(series: pd.Series) -> pd.Series:
    return series.map(lambda v: v is not None and CENT <= v <= MAX_AMOUNT).astype(bool)


def transform(source: str, as_of: dt.date, first: dt.date, collection_days: int = 120, write_off_days: int = 365):
    """The three reporting tables as DataFrames, computed from the source file."""
    today = pd.Timestamp(as_of)
    key = BENCH_KEY.encode()
    conn = sqlite3.connect(f"file:{urllib.parse.quote(str(source))}?mode=ro", uri=True)  # a path with "?" or "#" too
    try:
        patients = pd.read_sql("SELECT id FROM patients", conn)
        invoices = pd.read_sql("SELECT id, invoice_number, patient_id, due_date, total_amount, status FROM invoices", conn)
        payments = pd.read_sql("SELECT id, invoice_id, patient_id, payment_date, amount, status FROM payments", conn)
    finally:
        conn.close()

    def pseudonym(pid) -> str:
        return "pt_" + hmac.new(key, str(int(pid)).encode(), hashlib.sha256).hexdigest()[:32]

    known_patients = set(patients["id"].tolist())

    # invoices: parse and validate
    invoices["total"] = invoices["total_amount"].map(to_decimal)
    invoices["status"] = invoices["status"].map(lambda s: s.strip().lower() if isinstance(s, str) else None)
    invoices["due"] = parse_dates(invoices["due_date"])
    invoices_ok = invoices[
        invoices["invoice_number"].notna()
        & invoices["patient_id"].isin(known_patients)
        & invoices["due"].notna()
        & valid_amount(invoices["total"])
        & invoices["status"].isin(INVOICE_STATUSES)
    ]

    # payments: resolve invoice and patient, parse, validate
    pay = payments.merge(
        invoices[["id", "invoice_number", "patient_id"]].rename(columns={"id": "invoice_id", "patient_id": "invoice_patient"}),
        on="invoice_id",
        how="left",
    )
    pay["owner"] = pay["patient_id"].fillna(pay["invoice_patient"])
    pay["amount"] = pay["amount"].map(to_decimal)
    pay["status"] = pay["status"].map(lambda s: s.strip().lower() if isinstance(s, str) else None)
    pay["date"] = parse_dates(pay["payment_date"])
    ok = (
        pay["owner"].isin(known_patients)
        & (pay["invoice_id"].isna() | pay["invoice_number"].notna())
        & pay["date"].notna()
        & (pay["date"] <= today)
        & valid_amount(pay["amount"])
        & pay["status"].isin(PAYMENT_STATUSES)
    )
    pay = pay[ok]
    pseudonyms = {pid: pseudonym(pid) for pid in pay["owner"].unique().tolist()}

    history = pd.DataFrame(
        {
            "patient_id": pay["owner"].map(pseudonyms),
            "payment_date": pay["date"],
            "amount": pay["amount"],
            "payment_status": pay["status"],
            "invoice_id": pay["invoice_number"],
            "source_payment_id": pay["id"],
        }
    )

    paid = pay[pay["status"] == "paid"]
    daily = paid.groupby("date")["amount"].agg(["sum", "count"])
    days = pd.date_range(pd.Timestamp(first), today, freq="D")
    daily = daily.reindex(days)
    revenue = pd.DataFrame(
        {
            "date_key": days,
            "total_revenue": [Decimal("0.00") if pd.isna(c) else s for s, c in zip(daily["sum"], daily["count"])],
            "payment_count": daily["count"].fillna(0).astype("int64").to_numpy(),
        }
    )
    revenue["average_payment"] = [
        (s / c).quantize(CENT, rounding=ROUND_HALF_UP) if c else Decimal("0.00")
        for s, c in zip(revenue["total_revenue"], revenue["payment_count"])
    ]

    paid_sum = paid.groupby("invoice_id")["amount"].sum()
    last_attempt = pay.groupby("invoice_id")["date"].max()
    inv = invoices_ok.set_index("id")
    inv = inv[~inv["status"].isin(("void", "paid")) & (inv["due"] < today)].copy()
    inv["paid"] = paid_sum.reindex(inv.index).map(lambda v: Decimal("0.00") if pd.isna(v) else v)
    inv["amount_due"] = [t - p for t, p in zip(inv["total"], inv["paid"])]
    inv = inv[inv["amount_due"] > 0]
    days_overdue = (today - inv["due"]).dt.days
    status = pd.Series("overdue", index=inv.index)
    status[days_overdue >= collection_days] = "collection"
    status[(days_overdue >= write_off_days) | (inv["status"] == "written_off")] = "written_off"
    outstanding = pd.DataFrame(
        {
            "patient_id": inv["patient_id"].map(pseudonym),
            "invoice_id": inv["invoice_number"],
            "amount_due": inv["amount_due"],
            "days_overdue": days_overdue.astype("int64"),
            "last_payment_date": last_attempt.reindex(inv.index),
            "payment_status": status,
        }
    ).reset_index(drop=True)
    return history, revenue, outstanding


def run_baseline(params: dict) -> dict:
    from sqlalchemy import create_engine

    engine = create_engine(params["url"])
    try:
        started = time.perf_counter()
        history, revenue, outstanding = transform(
            params["source"], dt.date.fromisoformat(params["as_of"]), dt.date.fromisoformat(params["first"])
        )
        transformed = time.perf_counter()
        for name, frame in (("patient_payment_history", history), ("revenue_metrics", revenue), ("outstanding_payments", outstanding)):
            frame.to_sql(name, engine, schema="reporting", if_exists="append", index=False)
        finished = time.perf_counter()
    finally:
        engine.dispose()
    return {"seconds": finished - started, "parts": {"read_and_transform": transformed - started, "to_sql": finished - transformed}}
