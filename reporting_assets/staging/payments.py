"""Staging of payments: parse, resolve patient and invoice, pseudonymize, validate (SourcePayment).

Pure functions over rows already read from the source; the assets decide which rows to
read and where the results go.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .. import schemas
from ..bulk import bulk
from ..source.contract import PAYMENT_COLUMNS
from .parsing import int_keys, normalize_status, parse_amount_cents, parse_dates
from .lookups import SourceLookups

STAGED_PAYMENT_COLUMNS = ("source_payment_id", "patient_id", "invoice_id", "source_invoice_id", "payment_date", "amount_cents", "payment_status")


@dataclass
class StagedRows:
    accepted: pd.DataFrame  # STAGED_PAYMENT_COLUMNS (STAGED_INVOICE_COLUMNS for invoices)
    rejects: pd.DataFrame  # source_id, payment_date (NaT when unparseable), reasons
    read: int


def normalize_payments(rows: Sequence[Sequence], lookups: SourceLookups) -> pd.DataFrame:
    """Replica payment rows (contract.PAYMENT_COLUMNS order, patients as pseudonyms) as a SourcePayment frame."""
    columns = [list(col) for col in zip(*rows)] if rows else [[] for _ in PAYMENT_COLUMNS]
    ids, invoice_refs, patient_refs, dates, amounts, statuses = columns[:6]
    position = lookups.invoice_positions(invoice_refs)
    has_invoice = position >= 0
    invoice_known = has_invoice | np.fromiter((v is None for v in invoice_refs), dtype=bool, count=len(invoice_refs))
    numbers = np.full(len(ids), None, dtype=object)
    numbers[has_invoice] = lookups.invoice_numbers_at(position[has_invoice])
    invoice_keys, _ = int_keys(invoice_refs)
    source_invoice = pd.array(np.where(has_invoice, invoice_keys, 0), dtype="Int64")
    source_invoice[~has_invoice] = pd.NA
    # the payment's patient, or where that is NULL its invoice's
    patient_null = np.fromiter((v is None for v in patient_refs), dtype=bool, count=len(patient_refs))
    owner = np.where(patient_null, lookups.invoice_owners_at(position), lookups.patient_positions(patient_refs))
    return pd.DataFrame(
        {
            "source_payment_id": pd.Series(ids, dtype="int64"),
            "patient_id": pd.Series(lookups.pseudonyms(owner), dtype=object),
            "invoice_id": pd.Series(numbers, dtype=object),
            "invoice_known": invoice_known,
            "source_invoice_id": source_invoice,
            "payment_date": parse_dates(dates),
            "amount_cents": parse_amount_cents(amounts),
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


@bulk
def stage_payments(rows: Sequence[tuple], lookups: SourceLookups, today: dt.date) -> StagedRows:
    """Split source payment rows into accepted staging rows and rejects with every reason."""
    frame = normalize_payments(rows, lookups)
    with schemas.as_of(today):
        reasons = failure_reasons(schemas.SourcePayment, frame)
    bad = frame.index.isin(reasons.index)
    accepted = frame.loc[~bad, list(STAGED_PAYMENT_COLUMNS)].reset_index(drop=True)
    accepted["amount_cents"] = accepted["amount_cents"].astype("int64")
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


def _per_day(dates: pd.Series) -> dict[str, int]:
    """How many of these (day) dates fall on each day, keyed by ISO day; each distinct day formatted once."""
    counts = dates.value_counts(sort=False)
    return dict(zip(counts.index.strftime("%Y-%m-%d"), counts.tolist()))


class PaymentWindowStaging:
    """Stages the payments of a date window chunk by chunk: accepted rows stream on, rejects and per-day reads accumulate.

    Pure: it is handed replica rows with their lookups and gives back frames; the asset decides
    what is read and where the results go.
    """

    def __init__(self, today: dt.date) -> None:
        self.today = today
        self.read_per_day: collections.Counter[str] = collections.Counter()
        self._rejects: list[pd.DataFrame] = []

    def accepted(self, chunks: Iterable[tuple[Sequence[Sequence], SourceLookups]]) -> Iterator[pd.DataFrame]:
        """The accepted rows of each chunk of the window's payments."""
        for rows, lookups in chunks:
            staged = stage_payments(rows, lookups, self.today)
            # a row whose day is in the window but in the future of today belongs to the undated pass
            rejects = staged.rejects[~undated(staged.rejects["payment_date"], self.today)]
            self.read_per_day.update(_per_day(staged.accepted["payment_date"]))
            self.read_per_day.update(_per_day(rejects["payment_date"]))
            self._rejects.append(rejects)
            yield staged.accepted

    def add_undated(self, candidates: Sequence[Sequence], lookups: SourceLookups) -> int:
        """Reject the payments whose date places them in no partition (a superset of them is passed in)."""
        staged = stage_payments(candidates, lookups, self.today)
        rejects = staged.rejects[undated(staged.rejects["payment_date"], self.today)]
        self._rejects.append(rejects)
        return len(rejects)

    def rejects(self) -> pd.DataFrame:
        """Every reject so far with its partition key (None for undated payments): source_id, partition_key, reasons."""
        frames = [frame for frame in self._rejects if not frame.empty]
        rejects = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"source_id": [], "payment_date": pd.Series([], dtype="datetime64[ns]"), "reasons": []})
        dated = ~undated(rejects["payment_date"], self.today)
        return rejects.assign(partition_key=rejects["payment_date"].dt.strftime("%Y-%m-%d").where(dated, None))
