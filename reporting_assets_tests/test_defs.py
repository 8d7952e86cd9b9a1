"""The Definitions as the Dagster UI shows them: every asset's key, group, kinds, partitions, checks and columns.

A change to any of these is a change users see; this test makes it a deliberate one.
"""

import dagster as dg
import pytest

from reporting_assets import schemas
from reporting_assets.definitions import build_definitions
from reporting_assets.warehouse.ddl import columns_of
from reporting_assets_tests.conftest import make_settings

SETTINGS = make_settings("postgresql://unused@localhost/unused", "unused.db", "unused", timezone="America/New_York", start_date="2025-02-01")
DEFS = build_definitions(SETTINGS)
SPECS = {spec.key.to_user_string(): spec for spec in DEFS.resolve_all_asset_specs()}

EXPECTED = {
    # key: (group, kinds, daily partitions, table)
    "billing/patients": ("billing_source", {"sqlite"}, False, None),
    "billing/invoices": ("billing_source", {"sqlite"}, False, None),
    "billing/payments": ("billing_source", {"sqlite"}, False, None),
    "staged_payments": ("staging", {"python", "postgres"}, True, "staging.payments"),
    "staged_invoices": ("staging", {"python", "postgres"}, False, "staging.invoices"),
    "patient_payment_history": ("reporting", {"postgres", "table"}, True, "reporting.patient_payment_history"),
    "revenue_metrics": ("reporting", {"postgres", "table"}, True, "reporting.revenue_metrics"),
    "outstanding_payments": ("reporting", {"postgres", "table"}, False, "reporting.outstanding_payments"),
}
RULES = {
    "revenue_metrics": schemas.RevenueMetrics,
    "patient_payment_history": schemas.PatientPaymentHistory,
    "outstanding_payments": schemas.OutstandingPayments,
}


def checks_of(key: str) -> set[str]:
    return {check.name for check in DEFS.resolve_asset_graph().get_check_keys_for_assets([dg.AssetKey.from_user_string(key)])}


def test_every_asset_and_nothing_else():
    assert set(SPECS) == set(EXPECTED)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_asset_group_kinds_and_partitions(key):
    group, kinds, partitioned, _ = EXPECTED[key]
    spec = SPECS[key]
    assert spec.group_name == group
    assert set(spec.kinds) == kinds
    assert spec.owners == ["team:data-platform"]
    if partitioned:
        assert isinstance(spec.partitions_def, dg.DailyPartitionsDefinition)
        assert spec.partitions_def.timezone == "America/New_York"
        assert spec.partitions_def.start.strftime("%Y-%m-%d") == "2025-02-01"
    else:
        assert spec.partitions_def is None


@pytest.mark.parametrize("key", [k for k, v in EXPECTED.items() if v[3]])
def test_column_schema_is_the_tables_sql_columns_and_types(key):
    table = EXPECTED[key][3]
    schema = SPECS[key].metadata["dagster/column_schema"]
    assert SPECS[key].metadata["dagster/table_name"] == table
    assert [(c.name, c.type) for c in schema.columns] == [(name, sql_type) for name, sql_type, _ in columns_of(table)]
    assert "object" not in {c.type for c in schema.columns} and "invoice_known" not in {c.name for c in schema.columns}


def test_money_columns_are_numeric_not_pandas_objects():
    types = {c.name: c.type for c in SPECS["outstanding_payments"].metadata["dagster/column_schema"].columns}
    assert types["amount_due"] == "decimal(10,2)" and types["last_payment_date"] == "date"
    types = {c.name: c.type for c in SPECS["patient_payment_history"].metadata["dagster/column_schema"].columns}
    assert types["amount"] == "decimal(10,2)" and types["payment_date"] == "date"


@pytest.mark.parametrize("key", sorted(RULES))
def test_every_rule_of_a_reporting_table_is_a_blocking_check(key):
    expected = {rule.name for rule in schemas.rules_of(RULES[key])}
    assert checks_of(key) == expected
    assert {"columns_and_types", f"{'date_key' if key == 'revenue_metrics' else 'patient_id'}_not_null"} <= expected
    specs = list(DEFS.resolve_assets_def(key).check_specs)
    assert len(specs) == len(expected) and all(spec.blocking for spec in specs)


def test_named_rules_show_in_the_ui():
    assert {"total_revenue_non_negative", "date_key_not_in_future", "payment_count_greater_than_or_equal_to"} <= checks_of("revenue_metrics")
    assert {"patient_id_is_pseudonym", "amount_positive", "payment_status_isin", "source_payment_id_unique"} <= checks_of("patient_payment_history")
    assert {"amount_due_positive", "invoice_id_unique", "payment_status_isin"} <= checks_of("outstanding_payments")


def test_staging_checks():
    assert checks_of("staged_payments") == {"no_quarantined_rows", "accepted_plus_quarantined_equals_read"}
    assert checks_of("staged_invoices") == {"no_quarantined_rows"}


def test_lineage():
    graph = DEFS.resolve_asset_graph()

    def parents(key):
        return {k.to_user_string() for k in graph.get(dg.AssetKey.from_user_string(key)).parent_keys}

    assert parents("staged_payments") == {"billing/patients", "billing/invoices", "billing/payments"}
    assert parents("patient_payment_history") == {"staged_payments"}
    assert parents("revenue_metrics") == {"staged_payments"}
    assert parents("outstanding_payments") == {"staged_invoices"}


def test_jobs_schedules_and_sensors_use_the_settings():
    assert {job.name for job in DEFS.jobs} >= {"daily_facts_job", "outstanding_job", "retention_job"}
    schedules = {s.name: s for s in DEFS.schedules}
    assert set(schedules) == {"daily_facts_schedule", "outstanding_schedule", "retention_schedule"}
    assert {s.execution_timezone for s in schedules.values()} == {"America/New_York"}
    assert {s.name for s in DEFS.sensors} == {"source_change_sensor", "etl_process_status_sensor"}
    sensor = next(s for s in DEFS.sensors if s.name == "source_change_sensor")
    assert sensor.minimum_interval_seconds == SETTINGS.sensor_interval_seconds


def backfill_policies(defs: dg.Definitions) -> set[dg.BackfillPolicy]:
    graph = defs.resolve_asset_graph()
    return {graph.get(dg.AssetKey(key)).backfill_policy for key in ("staged_payments", "patient_payment_history", "revenue_metrics")}


def test_default_jobs_run_in_process_and_backfills_are_one_run():
    assert {DEFS.resolve_job_def(name).executor_def.name for name in ("daily_facts_job", "outstanding_job")} == {"in_process"}
    assert backfill_policies(DEFS) == {dg.BackfillPolicy.single_run()}


def test_celery_executor_and_multi_run_backfills_are_chosen_by_settings():
    settings = make_settings(
        "postgresql://unused@localhost/unused", "unused.db", "unused",
        executor="celery", celery_broker_url="pyamqp://guest@rabbit//", celery_queue="reporting", backfill_max_partitions_per_run=15,
    )
    defs = build_definitions(settings)
    job = defs.resolve_job_def("daily_facts_job")
    assert job.executor_def.name == "celery"
    config = job.executor_def.config_schema.resolve_config({}).value["config"]
    assert (config["broker"], config["backend"], config["config_source"]) == ("pyamqp://guest@rabbit//", "rpc://", {"task_default_queue": "reporting"})
    assert backfill_policies(defs) == {dg.BackfillPolicy.multi_run(max_partitions_per_run=15)}
    assert build_definitions(make_settings("postgresql://u@h/d", "u.db", "u", executor="multiprocess")).resolve_job_def("outstanding_job").executor_def.name == "multiprocess"


def test_resources_are_built_once_from_the_settings():
    resources = DEFS.resources
    assert set(resources) == {"warehouse", "billing_source", "pseudonym_key", "policy"}
    assert resources["policy"].timezone == "America/New_York"
    assert resources["billing_source"].path == str(SETTINGS.source_db)
