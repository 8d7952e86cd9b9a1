"""De-identified staging assets: validated source rows with pseudonyms, in the ``staging`` schema.

Rows that break a SourcePayment/SourceInvoice rule go to ``reporting.quarantine`` with every
reason (never PII) and show as a WARN asset check; accepted + quarantined = read.
"""


import collections

import dagster as dg
import pandas as pd

from .. import schemas
from ..partitions import daily_partitions, day_keys, partition_window, within_retention
from ..resources import BillingSourceResource, PseudonymKeyResource, ReportingPolicyResource, WarehouseResource
from ..source import reader
from ..source.assets import SOURCE_SPECS
from ..dates import DateWindow
from ..warehouse.writer import TableSpec, replace_quarantine, replace_window
from .invoices import STAGED_INVOICE_COLUMNS, PaymentTotals, stage_invoices
from .payments import STAGED_PAYMENT_COLUMNS, SourceLookups, stage_payments, undated

STAGING_GROUP = "staging"
OWNERS = ["team:data-platform"]
QUARANTINE_CHECK = "no_quarantined_rows"
ACCOUNTED_CHECK = "accepted_plus_quarantined_equals_read"

STAGED_PAYMENTS = TableSpec("staging", "payments", STAGED_PAYMENT_COLUMNS, date_column="payment_date")


def source_lookups(conn, pseudonym_key: PseudonymKeyResource) -> SourceLookups:
    return SourceLookups(reader.patient_ids(conn), reader.invoice_keys(conn), pseudonym_key.pseudonymizer())


def _reason_counts(rejects: pd.DataFrame) -> dict[str, int]:
    counts: collections.Counter[str] = collections.Counter()
    for reasons in rejects["reasons"]:
        counts.update(reasons)
    return dict(counts.most_common())


def _quarantine_check(asset_key: str, rejects: pd.DataFrame, read: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=QUARANTINE_CHECK,
        asset_key=asset_key,
        passed=rejects.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "quarantined": len(rejects),
            "read": read,
            "reasons": dg.MetadataValue.json(_reason_counts(rejects)),
            "sample_source_ids": dg.MetadataValue.json([int(i) for i in rejects["source_id"].head(20)]),
        },
    )


@dg.asset(
    key="staged_payments",
    group_name=STAGING_GROUP,
    deps=SOURCE_SPECS,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"python", "postgres"},
    owners=OWNERS,
    tags={"layer": "staging"},
    metadata={"dagster/table_name": "staging.payments", "dagster/column_schema": schemas.column_schema(schemas.SourcePayment)},
    check_specs=[
        dg.AssetCheckSpec(QUARANTINE_CHECK, asset="staged_payments", description="Source payments of these days that broke a rule (quarantined)."),
        dg.AssetCheckSpec(ACCOUNTED_CHECK, asset="staged_payments", description="Per day, staged + quarantined rows equal the rows read: nothing lost."),
    ],
)
def staged_payments(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    billing_source: BillingSourceResource,
    pseudonym_key: PseudonymKeyResource,
    policy: ReportingPolicyResource,
) -> dg.MaterializeResult:
    """De-identified, validated payments of each day; rejects quarantined with every reason."""
    today = policy.today()
    window = within_retention(partition_window(context), policy)
    read_per_day: collections.Counter[str] = collections.Counter()
    dated_rejects: list[pd.DataFrame] = []

    with billing_source.open() as source, warehouse.transaction() as conn:
        lookups = source_lookups(source, pseudonym_key)

        def accepted_chunks():
            for rows in ([] if window.empty else reader.payments_between(source, window.start, window.end)):
                staged = stage_payments(rows, lookups, today)
                keep = ~undated(staged.rejects["payment_date"], today)
                # rows the text range matched but whose date does not parse belong to the undated pass below
                rejects = staged.rejects[keep]
                read_per_day.update(staged.accepted["payment_date"].dt.strftime("%Y-%m-%d"))
                read_per_day.update(rejects["payment_date"].dt.strftime("%Y-%m-%d"))
                dated_rejects.append(rejects)
                yield staged.accepted

        written = 0 if window.empty else replace_window(conn, STAGED_PAYMENTS, accepted_chunks(), window, run_id=context.run.run_id)

        # payments whose date places them in no partition are quarantined by every run
        candidates = stage_payments(reader.undated_payment_candidates(source, today), lookups, today)
        undated_rejects = candidates.rejects[undated(candidates.rejects["payment_date"], today)]

        rejects = pd.concat([*dated_rejects, undated_rejects], ignore_index=True) if dated_rejects else undated_rejects
        rejects = rejects.assign(
            partition_key=rejects["payment_date"].dt.strftime("%Y-%m-%d").where(~undated(rejects["payment_date"], today), None)
        )
        replace_quarantine(
            conn,
            asset_key="staged_payments",
            source_table="payments",
            rejects=rejects,
            partition_keys=[*day_keys(window), None],
            run_id=context.run.run_id,
        )
        accounted = _accounting(conn, window, read_per_day)

    dated = int(rejects["partition_key"].notna().sum())
    mismatched = {day: counts for day, counts in accounted.items() if counts["read"] != counts["staged"] + counts["quarantined"]}
    context.log.info(
        f"staged {written} payments for {window if not window.empty else 'no day within retention'}; quarantined {dated} dated and {len(rejects) - dated} undated"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "read": sum(read_per_day.values()),
            "quarantined": dated,
            "quarantined_undated": len(rejects) - dated,
            "partition_range": str(window) if not window.empty else "outside retention",
        },
        check_results=[
            _quarantine_check("staged_payments", rejects, sum(read_per_day.values()) + len(undated_rejects)),
            dg.AssetCheckResult(
                check_name=ACCOUNTED_CHECK,
                asset_key="staged_payments",
                passed=not mismatched,
                metadata={"days_checked": len(accounted), "mismatched_days": dg.MetadataValue.json(mismatched)},
            ),
        ],
    )


def _accounting(conn, window: DateWindow, read_per_day: collections.Counter[str]) -> dict[str, dict[str, int]]:
    """Read, staged and quarantined counts per day, the staged and quarantined ones from the database."""
    result = {day: {"read": read_per_day.get(day, 0), "staged": 0, "quarantined": 0} for day in day_keys(window)}
    if window.empty:
        return result
    with conn.cursor() as cur:
        cur.execute(
            "SELECT payment_date::text, count(*) FROM staging.payments WHERE payment_date >= %s AND payment_date < %s GROUP BY 1",
            (window.start, window.end),
        )
        for day, count in cur.fetchall():
            result[day]["staged"] = count
        cur.execute(
            "SELECT partition_key, count(*) FROM reporting.quarantine WHERE asset_key = 'staged_payments' AND partition_key = ANY(%s) GROUP BY 1",
            (day_keys(window),),
        )
        for day, count in cur.fetchall():
            result[day]["quarantined"] = count
    return result


STAGED_INVOICES = TableSpec("staging", "invoices", STAGED_INVOICE_COLUMNS)


@dg.asset(
    key="staged_invoices",
    group_name=STAGING_GROUP,
    deps=SOURCE_SPECS,
    kinds={"python", "postgres"},
    owners=OWNERS,
    tags={"layer": "staging"},
    metadata={"dagster/table_name": "staging.invoices", "dagster/column_schema": schemas.column_schema(schemas.SourceInvoice, paid_cents="Sum of the invoice's valid paid payments, in cents", last_payment_date="Latest valid payment attempt, any status")},
    check_specs=[dg.AssetCheckSpec(QUARANTINE_CHECK, asset="staged_invoices", description="Source invoices that broke a rule (quarantined).")],
)
def staged_invoices(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    billing_source: BillingSourceResource,
    pseudonym_key: PseudonymKeyResource,
    policy: ReportingPolicyResource,
) -> dg.MaterializeResult:
    """Every valid invoice, de-identified, with the sum of its paid payments and its last payment attempt."""
    today = policy.today()
    with billing_source.open() as source:
        lookups = source_lookups(source, pseudonym_key)
        # only payments that pass validation count: stage every payment and aggregate the accepted ones
        totals = PaymentTotals(lookups.invoices)
        for rows in reader.all_payments(source):
            totals.add(stage_payments(rows, lookups, today).accepted)
        rejected: list[pd.DataFrame] = []
        read = 0

        def accepted_chunks():
            nonlocal read
            for rows in reader.invoice_rows(source):
                staged = stage_invoices(rows, lookups, totals)
                read += staged.read
                rejected.append(staged.rejects)
                yield staged.accepted

        with warehouse.transaction() as conn:
            written = replace_window(conn, STAGED_INVOICES, accepted_chunks(), None, run_id=context.run.run_id)
            rejects = pd.concat(rejected, ignore_index=True) if rejected else pd.DataFrame(columns=["source_id", "reasons"])
            rejects = rejects.assign(partition_key=None)
            replace_quarantine(conn, asset_key="staged_invoices", source_table="invoices", rejects=rejects, partition_keys=[None], run_id=context.run.run_id)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": written, "read": read, "quarantined": len(rejects)},
        check_results=[_quarantine_check("staged_invoices", rejects, read)],
    )

