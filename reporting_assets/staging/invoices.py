"""Staging of invoices: parse, pseudonymize, validate (SourceInvoice), attach paid sums."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import pandas as pd

from .. import schemas
from .parsing import normalize_status, parse_amounts, parse_dates
from .payments import SourceLookups, StagedRows, failure_reasons


def stage_invoices(
    rows: Sequence[tuple],
    lookups: SourceLookups,
    paid: Mapping[str, Decimal],
    last_attempt: Mapping[str, pd.Timestamp],
) -> StagedRows:
    """Source invoice rows (contract.INVOICE_COLUMNS order) split into staged rows and rejects."""
    frame = pd.DataFrame(
        {
            "source_invoice_id": pd.Series([r[0] for r in rows], dtype="int64"),
            "invoice_id": pd.Series([None if r[1] is None else str(r[1]) for r in rows], dtype=object),
            "patient_id": pd.Series([lookups.patient_pseudonym(r[2]) for r in rows], dtype=object),
            "issue_date": parse_dates([r[3] for r in rows]),
            "due_date": parse_dates([r[4] for r in rows]),
            "total_amount": pd.Series(parse_amounts([r[5] for r in rows]), dtype=object),
            "invoice_status": normalize_status([r[6] for r in rows]),
        }
    )
    reasons = failure_reasons(schemas.SourceInvoice, frame)
    bad = frame.index.isin(reasons.index)
    accepted = frame.loc[~bad].reset_index(drop=True)
    accepted["paid_amount"] = accepted["invoice_id"].map(lambda n: paid.get(n, Decimal("0.00")))
    accepted["last_payment_date"] = accepted["invoice_id"].map(last_attempt).astype("datetime64[ns]")
    rejects = pd.DataFrame(
        {
            "source_id": frame.loc[bad, "source_invoice_id"].to_numpy(),
            "reasons": reasons.reindex(frame.index[bad]).to_numpy(),
        }
    )
    return StagedRows(accepted=accepted, rejects=rejects, read=len(frame))
