"""The Definitions as the Dagster UI shows them: every asset's key, group, kinds, partitions, checks and columns.

A change to any of these is a change users see; this test makes it a deliberate one.
"""

import dagster as dg
import pytest

from reporting_assets import schemas
from reporting_assets.definitions import build_definitions
from reporting_assets.defs.rule_checks import SCHEMA_CHECK
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
    "revenue_weekly": ("reporting", {"postgres", "view"}, False, None),
    "revenue_monthly": ("reporting", {"postgres", "view"}, False, None),
    "ar_aging": ("reporting", {"postgres", "view"}, False, None),
    "quarantine_summary": ("reporting", {"postgres", "view"}, False, None),
    "table_freshness": ("reporting", {"postgres", "view"}, False, None),
    "dim_date": ("reporting", {"postgres", "table"}, False, "reporting.dim_date"),
    "dim_patient": ("reporting", {"postgres", "table"}, False, "reporting.dim_patient"),
    "dim_user": ("reporting", {"postgres", "table"}, False, "reporting.dim_user"),
}
RULES = {
    "revenue_metrics": schemas.RevenueMetrics,
    "patient_payment_history": schemas.PatientPaymentHistory,
    "outstanding_payments": schemas.OutstandingPayments,
    "dim_date": schemas.DimDate,
    "dim_patient": schemas.DimPatient,
    "dim_user": schemas.DimUser,
}
# the referential checks (defs/reporting/referential_checks.py), non-blocking beside the schema check: name -> the fact it reads
REFERENTIAL = {
    "dim_date": {"revenue_metrics_date_key_in_dim_date": "revenue_metrics", "patient_payment_history_payment_date_in_dim_date": "patient_payment_history"},
    "dim_patient": {
        "patient_payment_history_patient_id_in_dim_patient": "patient_payment_history",
        "outstanding_payments_patient_id_in_dim_patient": "outstanding_payments",
    },
    "dim_user": {"audit_log_user_id_in_dim_user": None},  # audit_log is no asset: dim_user's own deps order it
}


def checks_of(key: str) -> set[str]:
    return {check.name for check in DEFS.resolve_asset_graph().get_check_keys_for_assets([dg.AssetKey.from_user_string(key)])}


def schema_check_description(key: str) -> str:
    (spec,) = DEFS.resolve_assets_def(key).check_specs
    return spec.description or ""


def rules_listed(key: str) -> set[str]:
    """The rule names the schema check's description lists (after its colon)."""
    return set(schema_check_description(key).split(": ", 1)[1].rstrip(".").split(", "))


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
    types = {c.name: c.type for c in SPECS["dim_patient"].metadata["dagster/column_schema"].columns}
    assert {types[c] for c in ("paid_amount", "pending_amount", "failed_amount", "refunded_amount", "amount_outstanding")} == {"decimal(14,2)"}


@pytest.mark.parametrize("key", sorted(RULES))
def test_every_rule_of_a_reporting_table_is_in_its_one_blocking_schema_check(key):
    assert checks_of(key) == {SCHEMA_CHECK} | set(REFERENTIAL.get(key, {}))
    (spec,) = DEFS.resolve_assets_def(key).check_specs
    assert spec.key.name == SCHEMA_CHECK and spec.blocking
    rules = {rule.name for rule in schemas.rules_of(RULES[key])}
    first_column = {"revenue_metrics": "date_key", "dim_date": "date_key", "dim_user": "user_id"}.get(key, "patient_id")
    assert {"columns_and_types", f"{first_column}_not_null"} <= rules
    assert RULES[key].__name__ in schema_check_description(key) and rules_listed(key) == rules


def test_referential_checks_do_not_block_and_run_after_the_facts_they_read():
    specs = {spec.key.name: spec for checks in DEFS.asset_checks or [] for spec in checks.check_specs}
    assert {name for names in REFERENTIAL.values() for name in names} <= set(specs)
    for dimension, names in REFERENTIAL.items():
        for name in names:
            spec = specs[name]
            assert spec.asset_key.to_user_string() == dimension and not spec.blocking
            assert {d.asset_key.to_user_string() for d in spec.additional_deps} == ({names[name]} - {None}), name


def test_named_rules_show_in_the_ui():
    assert {"total_revenue_non_negative", "date_key_not_in_future", "payment_count_greater_than_or_equal_to"} <= rules_listed("revenue_metrics")
    assert {"patient_id_is_pseudonym", "amount_positive", "payment_status_isin", "source_payment_id_unique"} <= rules_listed("patient_payment_history")
    assert {"amount_due_positive", "invoice_id_unique", "payment_status_isin"} <= rules_listed("outstanding_payments")
    assert {"iso_week_in_range", "week_and_month_contain_the_day", "fiscal_quarter_in_range"} <= rules_listed("dim_date")
    assert {"patient_id_is_pseudonym", "paid_amount_fits_numeric_14_2", "payment_dates_match_counts"} <= rules_listed("dim_patient")
    assert {"kind_isin", "api_fields_only_for_api_actors"} <= rules_listed("dim_user")


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
    assert parents("dim_date") == set()
    assert parents("dim_patient") == {"patient_payment_history", "outstanding_payments", "staged_invoices"}
    # every reporting asset that appends audit rows comes before the dimension of their actors
    assert parents("dim_user") == {"revenue_metrics", "patient_payment_history", "outstanding_payments", "dim_date", "dim_patient"}
    assert parents("revenue_weekly") == parents("revenue_monthly") == {"revenue_metrics"}
    assert parents("ar_aging") == {"outstanding_payments"}
    assert parents("quarantine_summary") == {"staged_payments", "staged_invoices"}


def test_every_view_of_the_sql_is_in_the_lineage():
    import re

    from reporting_assets.warehouse.migrations import available_migrations

    created = {name for m in available_migrations() for name in re.findall(r"CREATE OR REPLACE VIEW reporting\.([a-z_]+)", m.sql)}
    views = {key for key, spec in SPECS.items() if "view" in spec.kinds}
    assert views == created


def test_the_fact_jobs_refresh_the_dimensions_and_their_checks():
    daily = DEFS.resolve_job_def("daily_facts_job").asset_layer
    current = DEFS.resolve_job_def("outstanding_job").asset_layer
    assert {k.to_user_string() for k in daily.selected_asset_keys} == {"staged_payments", "patient_payment_history", "revenue_metrics", "dim_date", "dim_patient", "dim_user"}
    assert {k.to_user_string() for k in current.selected_asset_keys} == {"staged_invoices", "outstanding_payments", "dim_patient", "dim_user"}
    assert {c.name for c in daily.asset_graph.asset_check_keys} >= {name for names in REFERENTIAL.values() for name in names}
    assert {c.name for c in current.asset_graph.asset_check_keys} >= set(REFERENTIAL["dim_patient"]) | set(REFERENTIAL["dim_user"])
    # one schema check per reporting table, none per rule: Dagster stores a planned row per check and partition
    schema_checked = {c.asset_key.to_user_string() for c in daily.asset_graph.asset_check_keys if c.name == SCHEMA_CHECK}
    assert schema_checked == {"patient_payment_history", "revenue_metrics", "dim_date", "dim_patient", "dim_user"}
    assert len(daily.asset_graph.asset_check_keys) == len(schema_checked) + sum(map(len, REFERENTIAL.values())) + len(checks_of("staged_payments"))


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
    # the implicit asset job (UI backfills, `dagster asset materialize`) too: not a process per step
    assert DEFS.resolve_implicit_global_asset_job_def().executor_def.name == "in_process"
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


def test_the_code_location_has_one_name_whatever_the_checkout_is_called():
    """Dagster's component tree takes the name from pyproject's [tool.dg.project], else the checkout's
    folder name, and warns on every load where that differs from the name workspace.yaml registers."""
    import yaml

    from reporting_assets.definitions import PROJECT_ROOT

    workspace = yaml.safe_load((PROJECT_ROOT / "workspace.yaml").read_text())
    registered = {entry["python_module"]["location_name"] for entry in workspace["load_from"]}
    assert registered == {dg.ComponentTree.for_project(PROJECT_ROOT).code_location_name}
