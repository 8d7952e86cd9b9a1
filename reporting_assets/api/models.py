"""Response bodies, as the contract (docs/api.md) fixes them. Money is a decimal string, never a float."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Money = str  # two-place decimal string, e.g. "1234.50"


class Problem(BaseModel):
    detail: str


class ParameterProblem(Problem):
    parameter: str


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class Me(BaseModel):
    username: str
    role: str
    reports: list[str]


class RevenuePeriod(BaseModel):
    period_start: str
    period_end: str
    total_revenue: Money
    payment_count: int
    average_payment: Money


class RevenueTotals(BaseModel):
    total_revenue: Money
    payment_count: int
    average_payment: Money


class RevenueReport(BaseModel):
    start: str
    end: str
    granularity: Literal["day", "week", "month"]
    periods: list[RevenuePeriod]
    totals: RevenueTotals


class AgingBucket(BaseModel):
    bucket: str
    invoice_count: int
    amount_due: Money


class AgingStatus(BaseModel):
    payment_status: str
    invoice_count: int
    amount_due: Money


class AgingTotals(BaseModel):
    invoice_count: int
    amount_due: Money


class AgingReport(BaseModel):
    as_of: str | None
    buckets: list[AgingBucket]
    by_status: list[AgingStatus]
    totals: AgingTotals


class OutstandingInvoice(BaseModel):
    invoice_id: str
    patient_id: str
    amount_due: Money
    days_overdue: int
    last_payment_date: str | None
    payment_status: str


class OutstandingPage(BaseModel):
    items: list[OutstandingInvoice]
    next_cursor: str | None


class Payment(BaseModel):
    patient_id: str
    payment_date: str
    amount: Money
    payment_status: str
    invoice_id: str | None


class PaymentPage(BaseModel):
    items: list[Payment]
    next_cursor: str | None


class EtlRun(BaseModel):
    run_id: str
    process_name: str
    status: str
    started_at: str
    completed_at: str | None
    records_processed: int | None
    error_message: str | None


class EtlRunPage(BaseModel):
    items: list[EtlRun]
    next_cursor: str | None


class LatestRun(BaseModel):
    run_id: str
    status: str
    started_at: str
    completed_at: str | None


class TableHealth(BaseModel):
    table: str
    last_refreshed_at: str | None
    latest_run: LatestRun | None


class QuarantineCount(BaseModel):
    source_table: str
    reason: str
    rows: int


class DataHealth(BaseModel):
    tables: list[TableHealth]
    quarantine: list[QuarantineCount]
    failed_runs_last_7_days: int


class AuditRow(BaseModel):
    id: int
    timestamp: str
    user_id: str
    action: str
    resource_type: str
    resource_id: str | None
    ip_address: str | None
    user_agent: str | None
    row_count: int | None


class AuditPage(BaseModel):
    items: list[AuditRow]
    next_cursor: str | None


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    schema_version: int
