import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ChartFigure } from '../../../components/ChartFigure';
import { DataTable } from '../../../components/DataTable';
import { formatCount } from '../../../lib/dates';
import { centsToChartValue, formatMoney, parseCents } from '../../../lib/money';
import type { AgingBucket, AgingReport } from '../api/get-receivables';

function summary(report: AgingReport): string {
  const parts = report.buckets.map((bucket) => `${bucket.bucket} days ${formatMoney(bucket.amount_due)} (${formatCount(bucket.invoice_count)} invoices)`);
  return `Amount due by days overdue${report.as_of ? ` as of ${report.as_of}` : ''}: ${parts.join('; ')}.`;
}

function AgingTooltip({ active, payload }: { active?: boolean; payload?: ReadonlyArray<{ payload?: AgingBucket }> }) {
  const bucket = payload?.[0]?.payload;
  if (!active || !bucket) return null;
  return (
    <div className="chart-tooltip">
      <strong>{bucket.bucket} days overdue</strong>
      <div>Amount due {formatMoney(bucket.amount_due)}</div>
      <div>{formatCount(bucket.invoice_count)} invoices</div>
    </div>
  );
}

/** A/R aging: amount due per bucket of days overdue, with the same figures as a table. */
export function AgingChart({ report }: { report: AgingReport }) {
  const rows = report.buckets.map((bucket) => ({ ...bucket, amount: centsToChartValue(parseCents(bucket.amount_due)) }));
  return (
    <>
      <ChartFigure summary={summary(report)} testId="aging-chart">
        <ResponsiveContainer width="100%" height={260}>
          <BarChart accessibilityLayer={false} data={rows} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="bucket" tick={{ fontSize: 12 }} />
            <YAxis tickFormatter={(value: number) => value.toLocaleString('en-US', { maximumFractionDigits: 0 })} tick={{ fontSize: 12 }} width={72} />
            <Tooltip content={<AgingTooltip />} />
            <Bar dataKey="amount" name="Amount due" fill="#2f6db5" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </ChartFigure>
      <DataTable
        caption="Amount due by days overdue"
        rows={report.buckets}
        rowKey={(bucket) => bucket.bucket}
        columns={[
          { header: 'Days overdue', cell: (bucket) => bucket.bucket },
          { header: 'Invoices', cell: (bucket) => formatCount(bucket.invoice_count), numeric: true },
          { header: 'Amount due', cell: (bucket) => formatMoney(bucket.amount_due), numeric: true },
        ]}
      />
    </>
  );
}
