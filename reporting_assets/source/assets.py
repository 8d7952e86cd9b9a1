"""The billing database's tables as observable external assets: their data version changes with their rows."""


import dagster as dg

from ..resources import BillingSourceResource
from . import reader

SOURCE_GROUP = "billing_source"
SOURCE_TABLES = ("patients", "invoices", "payments")

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
        owners=["team:data-platform"],
        tags={"pii": "true" if table == "patients" else "false"},
    )
    for table in SOURCE_TABLES
]


@dg.multi_observable_source_asset(specs=SOURCE_SPECS, name="observe_billing_source", group_name=SOURCE_GROUP)
def observe_billing_source(billing_source: BillingSourceResource):
    """Row count, newest updated_at and max id of each source table, as its data version."""
    with billing_source.open() as conn:
        for table in SOURCE_TABLES:
            count, newest, max_id = reader.table_stats(conn, table)
            yield dg.ObserveResult(
                asset_key=dg.AssetKey(["billing", table]),
                data_version=dg.DataVersion(f"{count}:{newest}:{max_id}"),
                metadata={"dagster/row_count": count, "newest_updated_at": str(newest)},
            )
