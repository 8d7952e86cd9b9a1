"""dim_user: one row per actor of audit_log (API accounts, Dagster users, schedules and sensors, shell users)."""

import dagster as dg
from psycopg2 import sql

from ... import schemas
from ...warehouse.writer import TableSpec
from ..resources import WarehouseResource
from ..rule_checks import schema_check_result
from ..run_user import run_user
from .materialization import reporting_table_asset, rebuild_table

TABLE = TableSpec("reporting", "dim_user", tuple(schemas.DimUser.to_schema().columns))
# the reporting assets whose materializations append audit rows: dim_user follows them in a run
AUDITED_ASSETS = ("revenue_metrics", "patient_payment_history", "outstanding_payments", "dim_date", "dim_patient")

# audit_log.user_id forms (docs/data-model.md, audit_log); anything else is a Dagster user (the dagster/user tag)
ACTORS = sql.SQL(
    "WITH seen AS ("
    " SELECT user_id, min(timestamp) AS first_seen, max(timestamp) AS last_seen FROM ("
    "  SELECT user_id, timestamp FROM reporting.audit_log"
    # this run's own audit row, appended below in the same transaction, names its launcher too
    "  UNION ALL SELECT {launcher}, (CURRENT_TIMESTAMP AT TIME ZONE 'UTC')) AS actions"
    " GROUP BY user_id), "
    "kinds AS (SELECT seen.*, CASE WHEN user_id LIKE 'api:%' THEN 'api' WHEN user_id LIKE 'system:%' THEN 'system' "
    " WHEN user_id LIKE 'local:%' THEN 'local' ELSE 'dagster' END AS kind FROM seen) "
    "SELECT k.user_id, k.kind, a.role, a.disabled, k.first_seen, k.last_seen, {run_id} FROM kinds k "
    "LEFT JOIN reporting.api_user a ON k.kind = 'api' AND a.username = substr(k.user_id, 5)"
)


@reporting_table_asset(TABLE, schemas.DimUser, AUDITED_ASSETS)
def dim_user(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Who appears in the audit log: kind of actor, API role and whether the API account is disabled (auditors only)."""
    tally = schemas.RuleTally(schemas.DimUser)
    launcher = run_user(context)[:50]  # as append_audit stores it
    select = ACTORS.format(launcher=sql.Literal(launcher), run_id=sql.Literal(context.run.run_id))
    written, by_kind = yield from rebuild_table(context, warehouse, TABLE, select, tally, lambda frame: frame["kind"].value_counts().to_dict())
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            # counts only: who acted is for auditors, not everyone who can open the Dagster UI
            "by_kind": dg.MetadataValue.json({str(k): int(n) for k, n in by_kind.most_common()}),
        },
        check_results=[schema_check_result(tally, "dim_user")],
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[dim_user])
