"""The business-figure views of sql/003_api.sql, in the lineage: what each reads, who reads it.

PostgreSQL computes a view when it is queried, so these assets are never materialized: they
show the data team which views (and so which API reports and BI queries) a table feeds.
Their columns are documented in docs/data-model.md ("Business-figure views").
"""

import dagster as dg

from .materialization import OWNERS, REPORTING_GROUP

VIEWS = {
    # view: (what it is, the assets it reads)
    "revenue_weekly": ("Revenue per whole ISO week (Monday to Sunday); for finance and BI.", ["revenue_metrics"]),
    "revenue_monthly": ("Revenue per calendar month; for finance and BI.", ["revenue_metrics"]),
    "ar_aging": ("A/R aging: overdue invoices and amount due per 0-30 ... 120+ day bucket and status.", ["outstanding_payments"]),
    "quarantine_summary": ("Quarantined source rows per source table and reason (counts only).", ["staged_payments", "staged_invoices"]),
    "table_freshness": (
        "When each reporting table was last written, from its materialize audit rows.",
        ["revenue_metrics", "patient_payment_history", "outstanding_payments"],
    ),
}

VIEW_SPECS = [
    dg.AssetSpec(
        key=view,
        description=description,
        deps=upstream,
        group_name=REPORTING_GROUP,
        kinds={"postgres", "view"},
        owners=OWNERS,
        metadata={"dagster/table_name": f"reporting.{view}"},
    )
    for view, (description, upstream) in VIEWS.items()
]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=VIEW_SPECS)
