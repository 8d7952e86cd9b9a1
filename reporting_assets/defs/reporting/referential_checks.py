"""Referential checks of the star schema: every fact key is in its dimension (docs/data-model.md, "Dimensions").

Each check runs SQL against the warehouse after the dimension and the fact it reads are
written, and reports the orphan rows, their distinct keys and a sample of up to 10 of them.
ERROR where the job rebuilds the dimension after the facts (an orphan is a bug); WARN for
audit_log, which the API appends to between refreshes (a new actor waits for the next run).
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
from psycopg2 import sql

from ..resources import WarehouseResource

SAMPLE_SIZE = 10


@dataclass(frozen=True)
class Reference:
    """``fact.column`` values must appear in ``dimension.key``."""

    fact: str  # reporting table (and, except audit_log, the asset of that name)
    column: str
    dimension: str
    key: str
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR

    @property
    def check_name(self) -> str:
        return f"{self.fact}_{self.column}_in_{self.dimension}"


REFERENCES = (
    Reference("revenue_metrics", "date_key", "dim_date", "date_key"),
    Reference("patient_payment_history", "payment_date", "dim_date", "date_key"),
    Reference("patient_payment_history", "patient_id", "dim_patient", "patient_id"),
    Reference("outstanding_payments", "patient_id", "dim_patient", "patient_id"),
    Reference("audit_log", "user_id", "dim_user", "user_id", dg.AssetCheckSeverity.WARN),
)


def orphans(warehouse: WarehouseResource, reference: Reference) -> tuple[int, int, list[str]]:
    """(orphan rows, distinct orphan keys, up to SAMPLE_SIZE of those keys in order) of ``reference``."""
    fact = sql.Identifier("reporting", reference.fact)
    dimension = sql.Identifier("reporting", reference.dimension)
    column, key = sql.Identifier(reference.column), sql.Identifier(reference.key)
    with warehouse.transaction() as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "SELECT count(*), count(DISTINCT orphan), (array_agg(DISTINCT orphan ORDER BY orphan))[1:%s] FROM ("
                " SELECT f.{column}::text AS orphan FROM {fact} f"
                " WHERE NOT EXISTS (SELECT 1 FROM {dimension} d WHERE d.{key} = f.{column})) AS orphans"
            ).format(column=column, fact=fact, dimension=dimension, key=key),
            (SAMPLE_SIZE,),
        )
        rows, keys, sample = cur.fetchone()
    return rows, keys, sample or []


def build_referential_check(reference: Reference) -> dg.AssetChecksDefinition:
    # audit_log is no asset: the audited assets reach dim_user through its own deps
    facts = [] if reference.fact == "audit_log" else [reference.fact]

    @dg.asset_check(
        name=reference.check_name,
        asset=reference.dimension,
        additional_deps=facts,
        description=f"Every {reference.fact}.{reference.column} is a {reference.dimension}.{reference.key}.",
        blocking=False,
    )
    def referential_check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        rows, keys, sample = orphans(warehouse, reference)
        return dg.AssetCheckResult(
            passed=rows == 0,
            severity=reference.severity,
            description=None if rows == 0 else f"{rows} {reference.fact} rows ({keys} keys) have no {reference.dimension} row.",
            metadata={"orphan_rows": rows, "orphan_keys": keys, "orphan_sample": dg.MetadataValue.json(sample)},
        )

    return referential_check


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=[build_referential_check(reference) for reference in REFERENCES])
