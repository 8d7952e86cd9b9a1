import { type FormEvent, useState } from 'react';
import { useSearchParams } from 'react-router';
import { DataTable } from '../../../components/DataTable';
import { DownloadCsvButton } from '../../../components/DownloadCsvButton';
import { Pager, useCursorPaging } from '../../../components/Pager';
import { QueryView } from '../../../components/QueryView';
import { Section } from '../../../components/Section';
import { isIsoDate } from '../../../lib/dates';
import { formatMoney } from '../../../lib/money';
import { useApi } from '../../../lib/use-api';
import { PAYMENT_STATUSES, PSEUDONYM, getPayments, paymentParams, type PaymentFilters } from '../api/get-payments';
import { PaymentTimeline } from '../components/PaymentTimeline';

function filtersFrom(search: URLSearchParams): PaymentFilters {
  return {
    patient_id: search.get('patient_id') ?? '',
    start: search.get('start') ?? undefined,
    end: search.get('end') ?? undefined,
    status: search.get('status') ?? undefined,
  };
}

function PaymentHistory({ filters }: { filters: PaymentFilters }) {
  const paging = useCursorPaging();
  const query = useApi(JSON.stringify([filters, paging.cursor]), (signal) => getPayments(filters, paging.cursor, signal));
  return (
    <Section title="Payments" actions={<DownloadCsvButton path="/payments" params={paymentParams(filters)} label="the patient's payments" />}>
      <QueryView query={query} what="payments" isEmpty={(page) => page.items.length === 0} empty="No payments for this patient match.">
        {(page) => (
          <>
            <PaymentTimeline payments={page.items} />
            <DataTable
              caption="Payments, newest first"
              rows={page.items}
              rowKey={(payment, index) => `${payment.payment_date}-${payment.invoice_id ?? ''}-${index}`}
              columns={[
                { header: 'Date', cell: (payment) => payment.payment_date },
                { header: 'Amount', cell: (payment) => formatMoney(payment.amount), numeric: true },
                { header: 'Status', cell: (payment) => payment.payment_status },
                { header: 'Invoice', cell: (payment) => payment.invoice_id ?? 'none' },
              ]}
            />
            <Pager label="payments" pageNumber={paging.pageNumber} nextCursor={page.next_cursor} onNext={paging.next} onPrevious={paging.previous} />
          </>
        )}
      </QueryView>
    </Section>
  );
}

/** Patient: the payment history of one pseudonymous patient id (pt_ + 32 hex). */
export function PatientPage() {
  const [search, setSearch] = useSearchParams();
  const filters = filtersFrom(search);
  const [error, setError] = useState<string | null>(null);

  function apply(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const patientId = String(form.get('patient_id') ?? '').trim().toLowerCase();
    const start = String(form.get('start') ?? '');
    const end = String(form.get('end') ?? '');
    if (!PSEUDONYM.test(patientId)) return setError('Enter a patient pseudonym: pt_ followed by 32 hexadecimal digits.');
    if ((start && !isIsoDate(start)) || (end && !isIsoDate(end))) return setError('Enter dates as YYYY-MM-DD.');
    if (start && end && start > end) return setError('The start date must be on or before the end date.');
    setError(null);
    const next: Record<string, string> = { patient_id: patientId };
    for (const [name, value] of [['start', start], ['end', end], ['status', String(form.get('status') ?? '')]]) {
      if (value) next[name] = value;
    }
    setSearch(next);
  }

  return (
    <div className="page">
      <h1>Patient payments</h1>
      <form className="filters" onSubmit={apply} aria-label="Find a patient's payments" key={`form?${search}`}>
        <label className="wide">
          Patient pseudonym
          <input name="patient_id" defaultValue={filters.patient_id} placeholder="pt_0123456789abcdef0123456789abcdef" spellCheck={false} autoComplete="off" required />
        </label>
        <label>
          From
          <input type="date" name="start" defaultValue={filters.start} />
        </label>
        <label>
          To
          <input type="date" name="end" defaultValue={filters.end} />
        </label>
        <label>
          Status
          <select name="status" defaultValue={filters.status ?? ''}>
            <option value="">All</option>
            {PAYMENT_STATUSES.map((status) => (
              <option key={status} value={status}>
                {status}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Show payments</button>
        {error && (
          <p className="state-error" role="alert">
            {error}
          </p>
        )}
      </form>
      {filters.patient_id ? (
        <PaymentHistory key={`history?${search}`} filters={filters} />
      ) : (
        <p className="state state-empty">Enter a patient pseudonym to see the payment history.</p>
      )}
    </div>
  );
}
