"""The Dagster Definitions of the platform: assets, checks, jobs, schedules, sensors and resources."""

from __future__ import annotations

import os

import dagster as dg

from .settings import Settings, load_settings
from .jobs import daily_facts_job, outstanding_job
from .operations.retention import retention_job
from .operations.run_status import etl_process_status_sensor
from .operations.schedules import daily_facts_schedule, outstanding_schedule, retention_schedule
from .operations.sensors import source_change_sensor
from .reporting.outstanding_payments import outstanding_payments
from .reporting.patient_payment_history import patient_payment_history
from .reporting.revenue_metrics import revenue_metrics
from .resources import BillingSourceResource, PseudonymKeyResource, ReportingPolicyResource, WarehouseResource
from .source.assets import observe_billing_source
from .staging.assets import staged_invoices, staged_payments

ASSETS = [observe_billing_source, staged_payments, staged_invoices, patient_payment_history, revenue_metrics, outstanding_payments]

def _secret(name: str) -> str | dg.EnvVar:
    """An EnvVar when the variable is set (its value never enters run config), else empty."""
    return dg.EnvVar(name) if os.environ.get(name, "").strip() else ""


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "warehouse": WarehouseResource(database_url=_secret("REPORTING_DATABASE_URL"), home=str(settings.home)),
        "billing_source": BillingSourceResource(
            path=str(settings.effective_source_db), generate_sample_if_missing=settings.source_db is None
        ),
        "pseudonym_key": PseudonymKeyResource(
            key=_secret("REPORTING_PSEUDONYM_KEY"),
            key_file=str(settings.pseudonym_key_file or ""),
            home=str(settings.home),
        ),
        "policy": ReportingPolicyResource(
            timezone=settings.timezone,
            collection_days=settings.collection_days,
            write_off_days=settings.write_off_days,
            report_retention_days=settings.report_retention_days,
            audit_retention_days=settings.audit_retention_days,
            etl_status_retention_days=settings.etl_status_retention_days,
            quarantine_retention_days=settings.quarantine_retention_days,
        ),
    }


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        jobs=[daily_facts_job, outstanding_job, retention_job],
        schedules=[daily_facts_schedule, outstanding_schedule, retention_schedule],
        sensors=[source_change_sensor, etl_process_status_sensor],
        resources=build_resources(settings),
    )


defs = build_definitions(load_settings())
