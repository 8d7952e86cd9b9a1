"""Referential checks of the star schema: every fact key is in its dimension (docs/data-model.md, "Dimensions").

Each check runs SQL against the warehouse after the dimension and the fact it reads are
written, and reports the orphan rows, their distinct keys and a sample of up to 10 of them.
ERROR where the job rebuilds the dimension after the facts (an orphan is a bug); WARN for
audit_log, which the API appends to between refreshes (a new actor waits for the next run).
In a run over a range of days, a daily fact's check reads the rows of those days only: the
run writes no other (the run without a range, outstanding_job, checks every row).

A fact row is orphaned only by a write of that row or by the removal of its dimension row. So
where the dimension's build reports how many rows it removed (``removed_metadata``), a run over
a range of days whose build removed none reads only the fact rows the run itself wrote: none
for a fact the run did not write, and none of a day the run left unchanged. That keeps the
everyday refresh from reading a million dim_patient keys to check rows it never touched;
outstanding_job, the current state's daily run, still reads every row.
"""


from dataclasses import dataclass

import dagster as dg
from psycopg2 import sql

from ...dates import DateWindow
from ..partitions import run_window
from ..resources import WarehouseResource
from .dim_patient import PATIENTS_REMOVED

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
    removed_metadata: str | None = None  # the dimension's metadata counting the rows its build removed

    @property
    def check_name(self) -> str:
        return f"{self.fact}_{self.column}_in_{self.dimension}"


REFERENCES = (
    Reference("revenue_metrics", "date_key", "dim_date", "date_key", day_column="date_key"),
    Reference("patient_payment_history", "payment_date", "dim_date", "date_key", day_column="payment_date"),
    Reference("patient_payment_history", "patient_id", "dim_patient", "patient_id", day_column="payment_date", removed_metadata=PATIENTS_REMOVED),
    Reference("outstanding_payments", "patient_id", "dim_patient", "patient_id", removed_metadata=PATIENTS_REMOVED),
    Reference("audit_log", "user_id", "dim_user", "user_id", dg.AssetCheckSeverity.WARN),
)


@dataclass(frozen=True)
class FactRows:
    """The fact rows a check reads: those of ``window`` (every row if None), and only those ``written_by`` that run if set."""

    window: DateWindow | None = None
    written_by: str | None = None

    def __str__(self) -> str:
        days = f"days {self.window}" if self.window else "all"
        return days if self.written_by is None else f"those this run wrote ({days})"


def rows_to_check(context: dg.AssetCheckExecutionContext, reference: Reference) -> FactRows | None:
    """The fact rows the check reads in this run; None when there are none (see the module's docstring)."""
    window = run_window(context.run)
    rows = FactRows(window if reference.day_column else None)
    if reference.removed_metadata is None or window is None:
        return rows
    # the dimension's latest build: this run's (a build of another run since then: every row)
    built = context.instance.get_latest_materialization_event(dg.AssetKey(reference.dimension))
    materialization = built.asset_materialization if built is not None and built.run_id == context.run.run_id else None
    removed = materialization.metadata.get(reference.removed_metadata) if materialization else None
    if removed is None or removed.value != 0:  # not built here, built whole, or some rows removed: every row
        return rows
    if dg.AssetKey(reference.fact) not in context.job_def.asset_layer.selected_asset_keys:
        return None  # the run does not write the fact
    return FactRows(rows.window, context.run.run_id)


def orphans(warehouse: WarehouseResource, reference: Reference, checked: FactRows = FactRows()) -> tuple[int, int, list[str]]:
    """(orphan rows, distinct orphan keys, up to SAMPLE_SIZE of those keys in order) of ``reference`` among the fact rows ``checked``."""
    fact = sql.Identifier("reporting", reference.fact)
    dimension = sql.Identifier("reporting", reference.dimension)
    column, key = sql.Identifier(reference.column), sql.Identifier(reference.key)
    where = sql.SQL("TRUE")
    if checked.window is not None and reference.day_column:
        where = sql.SQL("f.{day} >= {start} AND f.{day} < {end}").format(
            day=sql.Identifier(reference.day_column), start=sql.Literal(checked.window.start), end=sql.Literal(checked.window.end)
        )
    if checked.written_by is not None:
        where = sql.SQL("{} AND f.dagster_run_id = {}").format(where, sql.Literal(checked.written_by))
    with warehouse.transaction() as conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "SELECT count(*), count(DISTINCT orphan), (array_agg(DISTINCT orphan ORDER BY orphan))[1:%s] FROM ("
                " SELECT f.{column}::text AS orphan FROM {fact} f"
                " WHERE {where} AND NOT EXISTS (SELECT 1 FROM {dimension} d WHERE d.{key} = f.{column})) AS orphans"
            ).format(column=column, fact=fact, dimension=dimension, key=key, where=where),
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
        checked = rows_to_check(context, reference)
        rows, keys, sample = orphans(warehouse, reference, checked) if checked else (0, 0, [])
        return dg.AssetCheckResult(
            passed=rows == 0,
            severity=reference.severity,
            description=None if rows == 0 else f"{rows} {reference.fact} rows ({keys} keys) have no {reference.dimension} row.",
            metadata={
                "orphan_rows": rows,
                "orphan_keys": keys,
                "orphan_sample": dg.MetadataValue.json(sample),
                "fact_rows_checked": str(checked) if checked else f"none: this run wrote no {reference.fact} rows",
            },
        )

    return referential_check


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=[build_referential_check(reference) for reference in REFERENCES])
