"""Staging of invoices: parse, pseudonymize, validate (SourceInvoice), attach paid sums."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from .. import schemas
from ..bulk import bulk
from ..source.contract import INVOICE_COLUMNS
from .lookups import SourceLookups
from .parsing import normalize_status, parse_amount_cents, parse_dates
from .payments import StagedRows, failure_reasons

STAGED_INVOICE_COLUMNS = (
    "source_invoice_id", "invoice_id", "patient_id", "issue_date", "due_date", "total_cents", "invoice_status", "paid_cents", "last_payment_date",
)


class PaymentTotals:
    """Per invoice: cents of its valid paid payments and its latest valid attempt, accumulated chunk by chunk.

    Dense arrays aligned with the lookups' invoice index: 16 bytes an invoice, no hash tables.
    """

    _NONE = np.iinfo(np.int64).min  # no attempt yet

    def __init__(self, invoices: pd.Index) -> None:
        self.invoices = invoices
        self.paid_cents = np.zeros(len(invoices), dtype=np.int64)
        self.last_attempt = np.full(len(invoices), self._NONE, dtype=np.int64)  # datetime64[ns] as int

    def _positions(self, source_ids: pd.Series) -> np.ndarray:
        known = source_ids.notna().to_numpy()
        positions = np.full(len(source_ids), -1, dtype=np.int64)
        positions[known] = self.invoices.get_indexer(source_ids[known].astype("int64"))
        return positions

    def add(self, accepted: pd.DataFrame) -> None:
        positions = self._positions(accepted["source_invoice_id"])
        has_invoice = positions >= 0
        paid = has_invoice & (accepted["payment_status"] == "paid").to_numpy()
        np.add.at(self.paid_cents, positions[paid], accepted["amount_cents"].to_numpy()[paid])
        dates = accepted["payment_date"].to_numpy().astype("datetime64[ns]").view(np.int64)
        np.maximum.at(self.last_attempt, positions[has_invoice], dates[has_invoice])

    def add_sums(self, sums: pd.DataFrame) -> None:
        """Add totals summed elsewhere (per source_invoice_id: paid_cents, last_payment_date) of other accepted payments."""
        positions = self._positions(sums["source_invoice_id"])
        found = positions >= 0
        np.add.at(self.paid_cents, positions[found], sums["paid_cents"].to_numpy(dtype=np.int64)[found])
        dates = sums["last_payment_date"].to_numpy().astype("datetime64[ns]").view(np.int64)
        np.maximum.at(self.last_attempt, positions[found], dates[found])

    def counted(self) -> pd.DataFrame:
        """The invoices some added payment counts for: source_invoice_id, paid_cents, last_payment_date."""
        hit = self.last_attempt != self._NONE  # every counted payment is an attempt
        return pd.DataFrame(
            {
                "source_invoice_id": self.invoices.to_numpy()[hit],
                "paid_cents": self.paid_cents[hit],
                "last_payment_date": self.last_attempt[hit].view("datetime64[ns]"),
            }
        )

    def of(self, source_ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """(paid cents, last attempt as datetime64 with NaT) for these source invoice ids."""
        positions = self._positions(source_ids)
        found = positions >= 0
        paid = np.where(found, self.paid_cents[np.where(found, positions, 0)], 0)
        last = np.where(found, self.last_attempt[np.where(found, positions, 0)], self._NONE)
        return paid, np.where(last == self._NONE, np.datetime64("NaT", "ns"), last.view("datetime64[ns]"))


@bulk
def stage_invoices(rows: Sequence[tuple], lookups: SourceLookups, totals: PaymentTotals) -> StagedRows:
    """Replica invoice rows (contract.INVOICE_COLUMNS order, patients as pseudonyms) split into staged rows and rejects."""
    columns = [list(col) for col in zip(*rows)] if rows else [[] for _ in INVOICE_COLUMNS]
    ids, numbers, owners, issued, due, amounts, statuses = columns[:7]
    frame = pd.DataFrame(
        {
            "source_invoice_id": pd.Series(ids, dtype="int64"),
            "invoice_id": pd.Series([None if n is None else str(n) for n in numbers], dtype=object),
            "patient_id": pd.Series(lookups.pseudonyms(lookups.patient_positions(owners)), dtype=object),
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
    paid, last = totals.of(accepted["source_invoice_id"])
    accepted["paid_cents"] = paid.astype("int64")
    accepted["last_payment_date"] = pd.Series(last, dtype="datetime64[ns]")
    rejects = pd.DataFrame(
        {"source_id": frame.loc[bad, "source_invoice_id"].to_numpy(), "reasons": reasons.reindex(frame.index[bad]).to_numpy()}
    )
    return StagedRows(accepted=accepted[list(STAGED_INVOICE_COLUMNS)], rejects=rejects, read=len(frame))


class InvoiceStaging:
    """Stages every invoice chunk by chunk: accepted rows stream on, rejects and the read count accumulate."""

    def __init__(self, lookups: SourceLookups, totals: PaymentTotals) -> None:
        self.lookups = lookups
        self.totals = totals
        self.read = 0
        self._rejects: list[pd.DataFrame] = []

    def accepted(self, chunks: Iterable[Sequence[tuple]]) -> Iterator[pd.DataFrame]:
        for rows in chunks:
            staged = stage_invoices(rows, self.lookups, self.totals)
            self.read += staged.read
            self._rejects.append(staged.rejects)
            yield staged.accepted

    def rejects(self) -> pd.DataFrame:
        """source_id, reasons and partition_key (None: invoices are not partitioned) of every reject so far."""
        frames = [frame for frame in self._rejects if not frame.empty]
        rejects = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"source_id": [], "reasons": []})
        return rejects.assign(partition_key=None)
