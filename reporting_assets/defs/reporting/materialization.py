"""What every reporting asset does around its write: audit it, describe it in the UI, say when it is stale."""

import collections
import datetime as dt
from collections.abc import Callable, Generator, Iterator, Mapping
from decimal import Decimal

import dagster as dg
import pandas as pd
import pandera.pandas as pa
import psycopg2.extensions
import pyarrow
from psycopg2 import sql

from ...warehouse import copy_out
from ...warehouse.audit import append_audit
from ... import schemas
from ...warehouse.writer import TableSpec, replace_window_from_select
from ..resources import WarehouseResource
from ..rule_checks import fail_on_broken_rules, schema_check_spec
from ..run_user import run_user
from ..table_metadata import table_metadata

REPORTING_GROUP = "reporting"
OWNERS = ["team:data-platform"]


def audit_materialization(
    context: dg.AssetExecutionContext, conn: psycopg2.extensions.connection, rows: int, scope: str | None
) -> None:
    """audit_log row for this write, committed in the same transaction as the rows themselves."""
    asset = context.asset_key.to_user_string()
    append_audit(
        conn,
        user_id=run_user(context),
        action="materialize",
        resource_type="asset",
        resource_id=f"{asset}/{scope}" if scope else asset,
        row_count=rows,
        run_id=context.run.run_id,
        details=f"partitions {scope}" if scope else None,
    )


def preview(frame: pd.DataFrame, rows: int = 10) -> dg.MetadataValue:
    shown = frame.head(rows).astype(str)
    header = "| " + " | ".join(shown.columns) + " |\n|" + "---|" * len(shown.columns) + "\n"
    body = "".join("| " + " | ".join(row) + " |\n" for row in shown.itertuples(index=False))
    return dg.MetadataValue.md(header + body)


def freshness(hours: int) -> dg.FreshnessPolicy:
    """Stale in the UI when not refreshed within ``hours`` (warn at half of it)."""
    return dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=hours), warn_window=dt.timedelta(hours=hours // 2))


_ARROW_TYPES = {"int64": pyarrow.int64(), "bool": pyarrow.bool_(), "boolean": pyarrow.bool_()}


def _decimals(column: pyarrow.ChunkedArray | pyarrow.Array) -> pd.Series:
    """A money column's text as exact Decimals (None where NULL), as psycopg2 reads NUMERIC."""
    return pd.Series([None if text is None else Decimal(text) for text in column.to_pylist()], dtype=object)


def written_chunks(
    conn: psycopg2.extensions.connection, table: TableSpec, model: type[pa.DataFrameModel], where: sql.Composable = sql.SQL("TRUE")
) -> Iterator[pd.DataFrame]:
    """The table's rows (those ``where`` selects) as ``model`` types them, a block at a time (copy_out):
    rows validated in the transaction that wrote them. A million patients never sit in memory at once.

    Text stays in Arrow; money (the model's ``object`` columns, NUMERIC in the table) becomes
    Decimals; dates and timestamps datetime64; integers and booleans the model's dtype.
    """
    columns = {name: str(spec.dtype) for name, spec in model.to_schema().columns.items()}
    types = {
        name: pyarrow.timestamp("ns") if dtype.startswith("datetime64") else _ARROW_TYPES.get(dtype, pyarrow.string())
        for name, dtype in columns.items()
    }
    query = sql.SQL("SELECT {} FROM {} WHERE {}").format(sql.SQL(", ").join(map(sql.Identifier, table.columns)), table.ident, where)
    for batch in copy_out.csv_batches(conn, query.as_string(conn), types):
        frame = copy_out.to_frame(batch)
        for name, dtype in columns.items():
            if dtype == "object":
                frame[name] = _decimals(batch.column(name))
            elif dtype in _ARROW_TYPES and str(frame[name].dtype) != dtype:
                frame[name] = frame[name].astype(dtype)  # a boolean column with NULLs comes as objects
        yield frame


Summary = Callable[[pd.DataFrame], Mapping[str, int | Decimal]]


# (rows written, which rows of the table it wrote); None for the count: as many as those rows, counted as they are read back
Write = Callable[[psycopg2.extensions.connection], tuple[int | None, sql.Composable]]


def validated_write(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    table: TableSpec,
    write: Write,
    tally: schemas.RuleTally,
    summarize: Summary,
    scope: str | Callable[[], str | None] | None = None,
) -> Generator[dg.AssetCheckResult, None, tuple[int, collections.Counter]]:
    """Run ``write``, then validate the rows it says it wrote and audit them, all in one transaction.

    Returns (rows written, ``summarize`` of the written rows added up over the chunks they are
    validated in); ``scope`` names the rows in the audit row (a callable: asked after the write).
    A broken rule yields the schema check's failing result and fails: the transaction rolls back,
    the table keeps its previous rows.
    """
    totals: collections.Counter = collections.Counter()
    with warehouse.transaction() as conn:
        with conn.cursor() as cur:
            cur.execute("SET LOCAL work_mem = '256MB'")  # the per-key aggregation stays in memory (a million patients)
        written, where = write(conn)
        validated_before = tally.rows
        for frame in written_chunks(conn, table, tally.model, where):
            totals.update(summarize(tally.add(frame)))
        if written is None:
            written = tally.rows - validated_before
        yield from fail_on_broken_rules(tally, table.name)
        audit_materialization(context, conn, written, scope() if callable(scope) else scope)
    return written, totals


def rebuild_table(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    table: TableSpec,
    select: sql.Composable,
    tally: schemas.RuleTally,
    summarize: Summary,
    before_write: Callable[[psycopg2.extensions.connection], None] | None = None,
    after_write: Callable[[psycopg2.extensions.connection], None] | None = None,
) -> Generator[dg.AssetCheckResult, None, tuple[int, collections.Counter]]:
    """Replace every row of ``table`` with those of ``select`` (a validated_write); ``before_write``
    and ``after_write`` run in the same transaction around the write."""

    def write(conn: psycopg2.extensions.connection) -> tuple[int, sql.Composable]:
        if before_write is not None:
            before_write(conn)
        written = replace_window_from_select(conn, table, select, None)
        if after_write is not None:
            after_write(conn)
        return written, sql.SQL("TRUE")

    return (yield from validated_write(context, warehouse, table, write, tally, summarize))


def reporting_table_asset(
    table: TableSpec,
    model: type[pa.DataFrameModel],
    deps: tuple[str, ...] = (),
    partitions: dg.PartitionsDefinition | None = None,
    backfill: dg.BackfillPolicy | None = None,
):
    """@dg.asset for a reporting table: group reporting, a postgres table, columns from sql/, ``model`` as one blocking check."""
    return dg.asset(
        key=table.name,
        group_name=REPORTING_GROUP,
        deps=list(deps),
        partitions_def=partitions,
        backfill_policy=backfill,
        kinds={"postgres", "table"},
        owners=OWNERS,
        freshness_policy=freshness(36),
        metadata=table_metadata(table.qualified, model),
        check_specs=[schema_check_spec(model, table.name)],
    )
