"""The platform's asset jobs: the daily facts for a range of days, and the current state."""

from __future__ import annotations

import dagster as dg

# The partitioned facts and their staging: a range of days is one run (single-run backfill).
# Each job rebuilds the dimensions its facts reference, after them: a dimension is never older
# than a fact that joins it (the referential checks run at the end of the same run).
daily_facts_selection = dg.AssetSelection.assets(
    "staged_payments", "patient_payment_history", "revenue_metrics", "dim_date", "dim_patient", "dim_user"
)
current_state_selection = dg.AssetSelection.assets("staged_invoices", "outstanding_payments", "dim_patient", "dim_user")

# The assets of each job form one chain, so steps run one after another anyway: the in-process
# executor saves a process start and a Dagster import per step. Scale out with run launchers.
daily_facts_job = dg.define_asset_job(
    "daily_facts_job",
    executor_def=dg.in_process_executor,
    selection=daily_facts_selection,
    description="Stage payments, rebuild patient_payment_history and revenue_metrics for a range of days, then dim_date, dim_patient and dim_user.",
    tags={"reporting/refresh": "daily_facts"},
)
outstanding_job = dg.define_asset_job(
    "outstanding_job",
    executor_def=dg.in_process_executor,
    selection=current_state_selection,
    description="Stage invoices, rebuild outstanding_payments as of today, then dim_patient and dim_user.",
    tags={"reporting/refresh": "outstanding"},
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[daily_facts_job, outstanding_job])
