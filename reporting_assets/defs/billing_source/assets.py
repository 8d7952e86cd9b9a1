"""The billing database's tables as observable external assets: their data version changes with their rows.

``source_change_sensor`` reports an observation of each table on its own cadence whenever
the table changed, so the UI shows when each source table last changed without a run.
"""

from __future__ import annotations

import sqlite3

import dagster as dg

from ...source import reader
from ..resources import BillingSourceResource

SOURCE_GROUP = "billing_source"
SOURCE_TABLES = ("patients", "invoices", "payments")
OWNERS = ["team:data-platform"]

_DESCRIPTIONS = {
    "patients": "Patients of the billing application (contains PII: only ids are ever read).",
    "invoices": "Invoices of the billing application: number, patient, dates, total and status.",
    "payments": "Payment attempts of the billing application: invoice, patient, date, amount, status.",
}

SOURCE_SPECS = [
    dg.AssetSpec(
        key=dg.AssetKey(["billing", table]),
        description=_DESCRIPTIONS[table],
        group_name=SOURCE_GROUP,
        kinds={"sqlite"},
        owners=OWNERS,
        tags={"pii": "true" if table == "patients" else "false"},
    )
    for table in SOURCE_TABLES
]


def data_version(conn: sqlite3.Connection, table: str) -> str:
    """Row count, newest updated_at and max id: changes whenever a row is added, changed or deleted."""
    count, newest, max_id = reader.table_stats(conn, table)
    return f"{count}:{newest}:{max_id}"


def observation(table: str, version: str) -> dg.AssetObservation:
    count = int(version.split(":", 1)[0])
    return dg.AssetObservation(
        asset_key=dg.AssetKey(["billing", table]),
        tags={"dagster/data_version": version},
        metadata={"dagster/row_count": count, "data_version": version},
    )


@dg.multi_observable_source_asset(specs=SOURCE_SPECS, name="observe_billing_source", group_name=SOURCE_GROUP)
def observe_billing_source(billing_source: BillingSourceResource):
    """Row count, newest updated_at and max id of each source table, as its data version."""
    with billing_source.open() as conn:
        for table in SOURCE_TABLES:
            version = data_version(conn, table)
            yield dg.ObserveResult(
                asset_key=dg.AssetKey(["billing", table]),
                data_version=dg.DataVersion(version),
                metadata={"dagster/row_count": int(version.split(":", 1)[0]), "data_version": version},
            )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[observe_billing_source])
