import { DataTable } from '../../../components/DataTable';
import { formatCount } from '../../../lib/dates';
import { formatMoney } from '../../../lib/money';
import type { AgingReport } from '../api/get-receivables';

const STATUS_LABELS: Record<string, string> = { overdue: 'Overdue', collection: 'In collection', written_off: 'Written off' };

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status;
}

/** Outstanding invoices per payment status, with the total. */
export function StatusMix({ report }: { report: AgingReport }) {
  const rows = [
    ...report.by_status.map((row) => ({ label: statusLabel(row.payment_status), ...row })),
    { label: 'Total', invoice_count: report.totals.invoice_count, amount_due: report.totals.amount_due },
  ];
  return (
    <DataTable
      caption="Outstanding invoices by payment status"
      rows={rows}
      rowKey={(row) => row.label}
      columns={[
        { header: 'Status', cell: (row) => row.label },
        { header: 'Invoices', cell: (row) => formatCount(row.invoice_count), numeric: true },
        { header: 'Amount due', cell: (row) => formatMoney(row.amount_due), numeric: true },
      ]}
    />
  );
}
