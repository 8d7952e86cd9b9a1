"""Staging of payments: parse, resolve patient and invoice, pseudonymize, validate (SourcePayment).

Pure functions over rows already read from the source; the assets decide which rows to
read and where the results go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .. import schemas
from .parsing import normalize_status, parse_amounts, parse_dates
from .pseudonym import Pseudonymizer

STAGED_PAYMENT_COLUMNS = ("source_payment_id", "patient_id", "invoice_id", "payment_date", "amount", "payment_status")
REJECT_COLUMNS = ("source_id", "partition_key", "reasons")


@dataclass(frozen=True)
class SourceLookups:
    """What a payment is resolved against: the patients that exist and every invoice's number and patient."""

    patient_ids: frozenset[int]
    invoices: dict[int, tuple[object, object]]  # invoices.id -> (invoice_number, patient_id)
    pseudonymize: Pseudonymizer

    def patient_pseudonym(self, patient_id: object) -> str | None:
        if type(patient_id) is int and patient_id in self.patient_ids:
            return self.pseudonymize(patient_id)
        return None


@dataclass
class StagedRows:
    accepted: pd.DataFrame  # STAGED_PAYMENT_COLUMNS
    rejects: pd.DataFrame  # source_id, payment_date (NaT when unparseable), reasons
    read: int


def normalize_payments(rows: Sequence[tuple], lookups: SourceLookups) -> pd.DataFrame:
    """Source payment rows (contract.PAYMENT_COLUMNS order) as a SourcePayment frame."""
    ids, invoice_refs, patient_refs, dates, amounts, statuses = [], [], [], [], [], []
    for row in rows:
        ids.append(row[0])
        invoice_refs.append(row[1])
        patient_refs.append(row[2])
        dates.append(row[3])
        amounts.append(row[4])
        statuses.append(row[5])
    invoice_numbers: list[object] = []
    invoice_known = np.ones(len(ids), dtype=bool)
    patients: list[str | None] = []
    for i, (invoice_ref, patient_ref) in enumerate(zip(invoice_refs, patient_refs)):
        invoice = lookups.invoices.get(invoice_ref) if type(invoice_ref) is int else None
        if invoice_ref is not None and invoice is None:
            invoice_known[i] = False
        invoice_numbers.append(None if invoice is None else (str(invoice[0]) if invoice[0] is not None else None))
        owner = patient_ref if patient_ref is not None else (invoice[1] if invoice is not None else None)
        patients.append(lookups.patient_pseudonym(owner))
    return pd.DataFrame(
        {
            "source_payment_id": pd.Series(ids, dtype="int64"),
            "patient_id": pd.Series(patients, dtype=object),
            "invoice_id": pd.Series(invoice_numbers, dtype=object),
            "invoice_known": invoice_known,
            "payment_date": parse_dates(dates),
            "amount": pd.Series(parse_amounts(amounts), dtype=object),
            "payment_status": normalize_status(statuses),
        }
    )


def failure_reasons(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> pd.Series:
    """Every broken rule per row (index -> list of messages); rows that pass are absent."""
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.dropna(subset=["index"])
        # a custom check's failure case carries its error text, which names the rule
        return cases["check"].astype(str).groupby(cases["index"].astype(int)).agg(lambda r: sorted(set(r)))
    return pd.Series(dtype=object)


def stage_payments(rows: Sequence[tuple], lookups: SourceLookups, today: dt.date) -> StagedRows:
    """Split source payment rows into accepted staging rows and rejects with every reason."""
    frame = normalize_payments(rows, lookups)
    with schemas.as_of(today):
        reasons = failure_reasons(schemas.SourcePayment, frame)
    bad = frame.index.isin(reasons.index)
    accepted = frame.loc[~bad, list(STAGED_PAYMENT_COLUMNS)].reset_index(drop=True)
    rejects = pd.DataFrame(
        {
            "source_id": frame.loc[bad, "source_payment_id"].to_numpy(),
            "payment_date": frame.loc[bad, "payment_date"].to_numpy(),
            "reasons": reasons.reindex(frame.index[bad]).to_numpy(),
        }
    )
    return StagedRows(accepted=accepted, rejects=rejects, read=len(frame))


def undated(frame_dates: pd.Series, today: dt.date) -> pd.Series:
    """True where a parsed payment date places the row in no partition (unparseable or future)."""
    return frame_dates.isna() | (frame_dates > pd.Timestamp(today))
