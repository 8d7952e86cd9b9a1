"""The platform's jobs: the daily facts for a range of days, the current state, and retention."""

import dagster as dg

# The partitioned facts and their staging: a range of days is one run (single-run backfill).
daily_facts_selection = dg.AssetSelection.assets("staged_payments", "patient_payment_history", "revenue_metrics")
current_state_selection = dg.AssetSelection.assets("staged_invoices", "outstanding_payments")

daily_facts_job = dg.define_asset_job(
    "daily_facts_job",
    selection=daily_facts_selection,
    description="Stage payments and rebuild patient_payment_history and revenue_metrics for a range of days.",
    tags={"reporting/refresh": "daily_facts"},
)
outstanding_job = dg.define_asset_job(
    "outstanding_job",
    selection=current_state_selection,
    description="Stage invoices and rebuild outstanding_payments as of today.",
    tags={"reporting/refresh": "outstanding"},
)
