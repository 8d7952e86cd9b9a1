import { useState, type FormEvent } from 'react';
import { DataTable } from '../../../components/DataTable';
import { DownloadCsvButton } from '../../../components/DownloadCsvButton';
import { Pager, useCursorPaging } from '../../../components/Pager';
import { QueryView } from '../../../components/QueryView';
import { Section } from '../../../components/Section';
import { formatMoney } from '../../../lib/money';
import { useApi } from '../../../lib/use-api';
import { PAYMENT_STATUSES, getOverdue, overdueParams, type OverdueFilters } from '../api/get-receivables';
import { statusLabel } from './StatusMix';

/** Overdue invoices, most overdue first, filtered by status and days overdue, a page at a time. */
export function OverdueList() {
  const [filters, setFilters] = useState<OverdueFilters>({});
  const [error, setError] = useState<string | null>(null);
  const paging = useCursorPaging();
  const query = useApi(JSON.stringify([filters, paging.cursor]), (signal) => getOverdue(filters, paging.cursor, signal));

  function apply(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const minDays = String(form.get('min_days_overdue') ?? '').trim();
    if (minDays && !/^\d+$/.test(minDays)) return setError('Minimum days overdue must be a whole number of days.');
    setError(null);
    paging.reset();
    setFilters({ status: String(form.get('status') ?? ''), min_days_overdue: minDays });
  }

  return (
    <Section title="Overdue invoices" actions={<DownloadCsvButton path="/outstanding" params={overdueParams(filters)} label="overdue invoices" />}>
      <form className="filters" onSubmit={apply} aria-label="Filter overdue invoices">
        <label>
          Status
          <select name="status" defaultValue="">
            <option value="">All</option>
            {PAYMENT_STATUSES.map((status) => (
              <option key={status} value={status}>
                {statusLabel(status)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Minimum days overdue
          <input name="min_days_overdue" type="number" min={0} step={1} inputMode="numeric" />
        </label>
        <button type="submit">Filter</button>
        {error && (
          <p className="state-error" role="alert">
            {error}
          </p>
        )}
      </form>
      <QueryView query={query} what="overdue invoices" isEmpty={(page) => page.items.length === 0} empty="No overdue invoices match.">
        {(page) => (
          <>
            <DataTable
              caption="Overdue invoices, most overdue first"
              rows={page.items}
              rowKey={(invoice) => invoice.invoice_id}
              columns={[
                { header: 'Invoice', cell: (invoice) => invoice.invoice_id },
                { header: 'Patient', cell: (invoice) => <code>{invoice.patient_id}</code> },
                { header: 'Amount due', cell: (invoice) => formatMoney(invoice.amount_due), numeric: true },
                { header: 'Days overdue', cell: (invoice) => invoice.days_overdue, numeric: true },
                { header: 'Last payment', cell: (invoice) => invoice.last_payment_date ?? 'none' },
                { header: 'Status', cell: (invoice) => statusLabel(invoice.payment_status) },
              ]}
            />
            <Pager label="overdue invoices" pageNumber={paging.pageNumber} nextCursor={page.next_cursor} onNext={paging.next} onPrevious={paging.previous} />
          </>
        )}
      </QueryView>
    </Section>
  );
}
