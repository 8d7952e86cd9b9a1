"""Referential checks of the star schema: every fact key is in its dimension (docs/data-model.md, "Dimensions").

Each check runs SQL against the warehouse after the dimension and the fact it reads are
written, and reports the orphan rows, their distinct keys and a sample of up to 10 of them.
ERROR where the job rebuilds the dimension after the facts (an orphan is a bug); WARN for
audit_log, which the API appends to between refreshes (a new actor waits for the next run).
In a run over a range of days, a daily fact's check reads the rows of those days only: the
run writes no other (the run without a range, outstanding_job, checks every row).
"""


from dataclasses import dataclass

import dagster as dg
from psycopg2 import sql

from ...dates import DateWindow
from ..partitions import run_window
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
    day_column: str | None = None  # a daily fact's partition column: a run over some days checks those days' rows

    @property
    def check_name(self) -> str:
        return f"{self.fact}_{self.column}_in_{self.dimension}"


REFERENCES = (
    Reference("revenue_metrics", "date_key", "dim_date", "date_key", day_column="date_key"),
    Reference("patient_payment_history", "payment_date", "dim_date", "date_key", day_column="payment_date"),
    Reference("patient_payment_history", "patient_id", "dim_patient", "patient_id", day_column="payment_date"),
    Reference("outstanding_payments", "patient_id", "dim_patient", "patient_id"),
    Reference("audit_log", "user_id", "dim_user", "user_id", dg.AssetCheckSeverity.WARN),
)


def orphans(warehouse: WarehouseResource, reference: Reference, window: DateWindow | None = None) -> tuple[int, int, list[str]]:
    """(orphan rows, distinct orphan keys, up to SAMPLE_SIZE of those keys in order) of ``reference`` (of the fact's rows in ``window``)."""
    fact = sql.Identifier("reporting", reference.fact)
    dimension = sql.Identifier("reporting", reference.dimension)
    column, key = sql.Identifier(reference.column), sql.Identifier(reference.key)
    days = sql.SQL("TRUE")
    if window is not None and reference.day_column:
        days = sql.SQL("f.{day} >= {start} AND f.{day} < {end}").format(
            day=sql.Identifier(reference.day_column), start=sql.Literal(window.start), end=sql.Literal(window.end)
        )
    with warehouse.transaction() as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "SELECT count(*), count(DISTINCT orphan), (array_agg(DISTINCT orphan ORDER BY orphan))[1:%s] FROM ("
                " SELECT f.{column}::text AS orphan FROM {fact} f"
                " WHERE {days} AND NOT EXISTS (SELECT 1 FROM {dimension} d WHERE d.{key} = f.{column})) AS orphans"
            ).format(column=column, fact=fact, dimension=dimension, key=key, days=days),
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
    def referential_check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        # a run over some days writes only those days' fact rows (and dim_patient rows of their patients)
        window = run_window(context.run) if reference.day_column else None
        rows, keys, sample = orphans(warehouse, reference, window)
        return dg.AssetCheckResult(
            passed=rows == 0,
            severity=reference.severity,
            description=None if rows == 0 else f"{rows} {reference.fact} rows ({keys} keys) have no {reference.dimension} row.",
            metadata={
                "orphan_rows": rows,
                "orphan_keys": keys,
                "orphan_sample": dg.MetadataValue.json(sample),
                "fact_rows_checked": f"days {window}" if window else "all",
            },
        )

    return referential_check


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=[build_referential_check(reference) for reference in REFERENCES])
