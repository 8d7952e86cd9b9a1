"""De-identified staging assets: validated source rows with pseudonyms, in the ``staging`` schema.

Rows that break a SourcePayment/SourceInvoice rule go to ``reporting.quarantine`` with every
reason (never PII) and show as a WARN asset check; accepted + quarantined = read.
"""

import collections

import dagster as dg
import pandas as pd

from ... import schemas
from ...overlap import read_ahead
from ...settings import current_settings
from ...replica import reads
from ...replica.sync import sync_replica
from ...staging.invoices import STAGED_INVOICE_COLUMNS, InvoiceStaging, PaymentTotals
from ...staging.payments import STAGED_PAYMENT_COLUMNS, PaymentWindowStaging, stage_payments
from ...source.contract import INVOICE_COLUMNS
from ...warehouse import accounting, invoice_changes, patient_changes
from ...warehouse.writer import TableSpec, record_refresh, replace_keys, replace_quarantine, replace_window
from ..billing_source.assets import SOURCE_SPECS
from ..partitions import backfill_policy, daily_partitions, partition_window
from ..resources import BillingSourceResource, PseudonymKeyResource, ReportingPolicyResource, WarehouseResource
from ..table_metadata import table_metadata

STAGING_GROUP = "staging"
OWNERS = ["team:data-platform"]
QUARANTINE_CHECK = "no_quarantined_rows"
ACCOUNTED_CHECK = "accepted_plus_quarantined_equals_read"

STAGED_PAYMENTS = TableSpec("staging", "payments", STAGED_PAYMENT_COLUMNS, date_column="payment_date")
STAGED_INVOICES = TableSpec("staging", "invoices", STAGED_INVOICE_COLUMNS)
SOME_INVOICES = 200_000  # more changed invoices than this are staged as every invoice is: in one pass over all of them
_INVOICE_PATIENT = INVOICE_COLUMNS.index("patient_id")


def sync_billing_replica(context: dg.AssetExecutionContext, billing_source: BillingSourceResource, warehouse: WarehouseResource, pseudonym_key: PseudonymKeyResource) -> None:
    """Copy what changed in the billing database into the replica (raw schema) the step then reads."""
    with billing_source.open() as source, warehouse.transaction() as conn:
        report = sync_replica(source, conn, pseudonym_key.pseudonymizer())
    context.log.info(report.summary())


def _reason_counts(rejects: pd.DataFrame) -> dict[str, int]:
    counts: collections.Counter[str] = collections.Counter()
    for reasons in rejects["reasons"]:
        counts.update(reasons)
    return dict(counts.most_common())


def _quarantine_check(asset_key: str, rejects: pd.DataFrame, read: int, unchanged: dict[str, dict[str, int]] | None = None) -> dg.AssetCheckResult:
    """WARN when rows were quarantined: ``rejects`` now, and those of the days left ``unchanged`` (accounting.unchanged_per_day)."""
    kept = sum(counts["quarantined"] for counts in (unchanged or {}).values())
    metadata = {
        "quarantined": len(rejects) + kept,
        "read": read + sum(counts["read"] for counts in (unchanged or {}).values()),
        "reasons": dg.MetadataValue.json(_reason_counts(rejects)),
        "sample_source_ids": dg.MetadataValue.json([int(i) for i in rejects["source_id"].head(20)]),
    }
    if unchanged:
        metadata["quarantined_on_unchanged_days"] = kept  # counted when staged; their rows stay in reporting.quarantine until its retention
    return dg.AssetCheckResult(
        check_name=QUARANTINE_CHECK,
        asset_key=asset_key,
        passed=rejects.empty and kept == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )


def build_staged_payments(partitions: dg.PartitionsDefinition, backfill: dg.BackfillPolicy) -> dg.AssetsDefinition:
    @dg.asset(
        key="staged_payments",
        group_name=STAGING_GROUP,
        deps=SOURCE_SPECS,
        partitions_def=partitions,
        backfill_policy=backfill,
        kinds={"python", "postgres"},
        owners=OWNERS,
        tags={"layer": "staging"},
        metadata=table_metadata("staging.payments", schemas.SourcePayment),
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
        """De-identified, validated payments of each day; rejects quarantined with every reason.

        Days whose payments, and what they are resolved against, did not change since they were
        staged by this code are left as they are (accounting.days_still_current): the window
        staged is the smallest one holding every other day.
        """
        today = policy.today()
        cutoff = policy.report_cutoff()
        window = partition_window(context).days_from(cutoff)
        run_id = context.run.run_id
        sync_billing_replica(context, billing_source, warehouse, pseudonym_key)
        with warehouse.transaction() as conn, warehouse.transaction() as replica:
            version = reads.replica_version(replica)  # before the rows: a later change makes these days stale, never current
            staged_window, left = window.without(set(accounting.unchanged_days(conn, window, today, cutoff)))
            staging = PaymentWindowStaging(today)
            written = 0
            if not staged_window.empty:
                # the next chunk and its lookups are read while this one is staged and the one before copied
                with read_ahead(reads.payments_with_lookups(replica, staged_window.start, staged_window.end)) as chunks, \
                        invoice_changes.recording_payment_changes(conn, STAGED_PAYMENTS, staged_window):  # for staged_invoices' next run
                    written = replace_window(conn, STAGED_PAYMENTS, staging.accepted(chunks), staged_window, run_id=run_id)
            # payments whose date places them in no partition are quarantined by every run
            candidates = reads.undated_payments(replica, today)
            undated = staging.add_undated(candidates, reads.lookups_for(replica, candidates))
            rejects = staging.rejects()
            partition_keys = [*staged_window.day_keys(), None]
            replace_quarantine(conn, asset_key="staged_payments", source_table="payments", rejects=rejects, partition_keys=partition_keys, run_id=run_id)
            stored = accounting.stored_per_day(conn, staged_window)
            accounting.save_per_day(conn, stored, version, today, run_id)
            kept = accounting.unchanged_per_day(conn, left)  # their rows in the replica now, against their counts
            read_now = {**staging.read_per_day, **{day: counts["read"] for day, counts in kept.items()}}
            unaccounted = accounting.unaccounted_days(read_now, {**stored, **kept})

        read = sum(staging.read_per_day.values())
        scope = str(window) if not window.empty else "no day within retention"
        context.log.info(
            f"staged {written} payments for {staged_window if not staged_window.empty else 'no day'} of {scope} "
            f"({len(left)} days unchanged, left as they were); quarantined {len(rejects) - undated} dated and {undated} undated"
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": written + sum(counts["staged"] for counts in kept.values()),
                "staged_now": written,
                "days_unchanged": len(left),
                "read": read,
                "quarantined": len(rejects) - undated,
                "quarantined_undated": undated,
                "partition_range": str(window) if not window.empty else "outside retention",
            },
            check_results=[
                _quarantine_check("staged_payments", rejects, read + undated, kept),
                dg.AssetCheckResult(
                    check_name=ACCOUNTED_CHECK,
                    asset_key="staged_payments",
                    passed=not unaccounted,
                    metadata={
                        "days_checked": len(window.days()),
                        "days_unchanged": len(left),
                        "mismatched_days": dg.MetadataValue.json(unaccounted),
                    },
                ),
            ],
        )

    return staged_payments


def _stage_these_invoices(conn, replica, ids: list[int], run_id: str) -> int:
    """Stage these invoices again (their sums from invoice_changes.to_stage_again) and replace their rows and rejects."""
    rows = list(reads.invoice_rows_of(replica, ids))
    owners = [row[_INVOICE_PATIENT] for chunk in rows for row in chunk]
    totals = PaymentTotals(pd.Index(ids, dtype="int64"))
    totals.add_sums(invoice_changes.totals_of(conn, ids))
    staging = InvoiceStaging(reads.patient_lookups_of(replica, owners), totals)
    written = replace_keys(conn, STAGED_INVOICES, "source_invoice_id", ids, staging.accepted(rows), run_id=run_id)
    replace_quarantine(conn, asset_key="staged_invoices", source_table="invoices", rejects=staging.rejects(), partition_keys=[None], run_id=run_id, source_ids=ids)
    return written


def _stage_every_invoice(conn, replica, totals: PaymentTotals, run_id: str) -> int:
    """Stage every invoice with these sums and replace the table and the invoices' rejects."""
    # staging an invoice resolves its patient only: no invoice's number or owner is loaded
    staging = InvoiceStaging(reads.patient_lookups(replica), totals)
    # the next invoices are read while these are staged and the ones before copied
    with read_ahead(reads.invoice_rows(replica)) as invoices:
        written = replace_window(conn, STAGED_INVOICES, staging.accepted(invoices), None, run_id=run_id)
    replace_quarantine(conn, asset_key="staged_invoices", source_table="invoices", rejects=staging.rejects(), partition_keys=[None], run_id=run_id)
    return written


@dg.asset(
    key="staged_invoices",
    group_name=STAGING_GROUP,
    deps=SOURCE_SPECS,
    kinds={"python", "postgres"},
    owners=OWNERS,
    tags={"layer": "staging"},
    metadata=table_metadata(
        "staging.invoices",
        schemas.SourceInvoice,
        paid_cents="Sum of the invoice's valid paid payments, in cents",
        last_payment_date="Latest valid payment attempt, any status",
    ),
    check_specs=[dg.AssetCheckSpec(QUARANTINE_CHECK, asset="staged_invoices", description="Source invoices that broke a rule (quarantined).")],
)
def staged_invoices(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    billing_source: BillingSourceResource,
    pseudonym_key: PseudonymKeyResource,
    policy: ReportingPolicyResource,
) -> dg.MaterializeResult:
    """Every valid invoice, de-identified, with the sum of its paid payments and its last payment attempt.

    Stages again only the invoices that changed since it last ran, when they are few
    (warehouse.invoice_changes); otherwise every invoice.
    """
    today = policy.today()
    run_id = context.run.run_id
    sync_billing_replica(context, billing_source, warehouse, pseudonym_key)
    with warehouse.transaction() as conn, warehouse.transaction() as replica:
        # first: the invoices whose staged payments changed since the last run (a write committing later leaves its own)
        compare_every_invoice = invoice_changes.take_payment_changes(conn)
        version = reads.replica_version(replica)  # before the rows: what changes later is staged again by the next run
        # only payments that pass validation count. The days staging.payments holds as the replica
        # would give them again give their valid payments' sums in SQL; every other payment is
        # validated here and its accepted rows summed.
        cutoff = policy.report_cutoff()
        reused = accounting.days_still_current(conn, today, cutoff)
        totals = PaymentTotals(reads.invoice_ids(replica))
        validated = 0
        with read_ahead(reads.payments_except_days_with_lookups(replica, reused)) as chunks:
            for rows, lookups in chunks:
                staged = stage_payments(rows, lookups, today)
                totals.add(staged.accepted)
                validated += staged.read
        invoice_changes.settle_later(conn, reused, cutoff, totals.counted())
        since = invoice_changes.staged_from(conn)
        again, summed = invoice_changes.to_stage_again(conn, since, reused, compare_every_invoice) if since is not None else (None, None)
        if again is not None and len(again) <= SOME_INVOICES:
            written = _stage_these_invoices(conn, replica, again, run_id)
            restaged = len(again)
        else:
            for sums in accounting.invoice_totals_of_days(conn, reused):
                totals.add_sums(sums)
            written = _stage_every_invoice(conn, replica, totals, run_id)
            restaged = None
        if restaged != 0:  # first invoice dates in dim_patient may differ now
            patient_changes.request_comparison(conn, "staged_invoices")
        record_refresh(conn, "staged_invoices")
        invoice_changes.record_staged(conn, version)
        invoice_changes.record_unsettled(conn)
        rejects = invoice_changes.quarantined(conn)
        stored = invoice_changes.staged_count(conn)
    how = "every invoice" if restaged is None else f"{restaged} changed invoices"
    summed_for = "every invoice" if summed is None else f"{summed} invoices whose payments changed"
    context.log.info(
        f"staged {how}; paid sums of {summed_for}: {len(reused)} days from staging.payments, {validated} payments of other days validated"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": stored,
            "staged_now": written,
            "invoices_staged_again": restaged if restaged is not None else "all",
            "invoices_summed": summed if summed is not None else "all",
            "quarantined": len(rejects),
            "payment_days_from_staging": len(reused),
            "payments_validated": validated,
        },
        check_results=[_quarantine_check("staged_invoices", rejects, stored + len(rejects))],
    )


@dg.definitions
def defs() -> dg.Definitions:
    settings = current_settings()
    return dg.Definitions(assets=[build_staged_payments(daily_partitions(settings), backfill_policy(settings)), staged_invoices])
