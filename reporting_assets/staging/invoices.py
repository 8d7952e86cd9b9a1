"""Staging of invoices: parse, pseudonymize, validate (SourceInvoice), attach paid sums."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import schemas
from .parsing import int_keys, normalize_status, parse_amount_cents, parse_dates
from .payments import SourceLookups, StagedRows, failure_reasons

STAGED_INVOICE_COLUMNS = (
    "source_invoice_id", "invoice_id", "patient_id", "issue_date", "due_date", "total_cents", "invoice_status", "paid_cents", "last_payment_date",
)


class PaymentTotals:
    """Per source invoice id: cents of its valid paid payments and its latest valid attempt, accumulated chunk by chunk."""

    def __init__(self) -> None:
        self.paid_cents = pd.Series(dtype="int64")
        self.last_attempt = pd.Series(dtype="datetime64[ns]")

    def add(self, accepted: pd.DataFrame) -> None:
        with_invoice = accepted[accepted["source_invoice_id"].notna()].astype({"source_invoice_id": "int64"})
        paid = with_invoice[with_invoice["payment_status"] == "paid"].groupby("source_invoice_id")["amount_cents"].sum()
        self.paid_cents = self.paid_cents.add(paid, fill_value=0).astype("int64")
        latest = with_invoice.groupby("source_invoice_id")["payment_date"].max()
        self.last_attempt = pd.concat([self.last_attempt, latest]).groupby(level=0).max()


def stage_invoices(rows: Sequence[tuple], lookups: SourceLookups, totals: PaymentTotals) -> StagedRows:
    """Source invoice rows (contract.INVOICE_COLUMNS order) split into staged rows and rejects."""
    columns = [list(col) for col in zip(*rows)] if rows else [[] for _ in range(8)]
    ids, numbers, owners, issued, due, amounts, statuses = columns[:7]
    owner_keys, owner_is_int = int_keys(owners)
    frame = pd.DataFrame(
        {
            "source_invoice_id": pd.Series(ids, dtype="int64"),
            "invoice_id": pd.Series([None if n is None else str(n) for n in numbers], dtype=object),
            "patient_id": pd.Series(lookups.pseudonyms(owner_keys, owner_is_int), dtype=object),
            "issue_date": parse_dates(issued),
            "due_date": parse_dates(due),
            "total_cents": parse_amount_cents(amounts),
            "invoice_status": normalize_status(statuses),
        }
    )
    reasons = failure_reasons(schemas.SourceInvoice, frame)
    bad = frame.index.isin(reasons.index)
    accepted = frame.loc[~bad].reset_index(drop=True)
    accepted["total_cents"] = accepted["total_cents"].astype("int64")
    accepted["paid_cents"] = accepted["source_invoice_id"].map(totals.paid_cents).fillna(0).astype("int64")
    accepted["last_payment_date"] = accepted["source_invoice_id"].map(totals.last_attempt).astype("datetime64[ns]")
    rejects = pd.DataFrame(
        {"source_id": frame.loc[bad, "source_invoice_id"].to_numpy(), "reasons": reasons.reindex(frame.index[bad]).to_numpy()}
    )
    return StagedRows(accepted=accepted[list(STAGED_INVOICE_COLUMNS)], rejects=rejects, read=len(frame))
