import { Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ChartFigure } from '../../../components/ChartFigure';
import { DataTable } from '../../../components/DataTable';
import { formatCount } from '../../../lib/dates';
import { formatMoney, parseCents } from '../../../lib/money';
import type { RevenueComparison } from '../api/get-revenue';
import { revenueChartRows, type RevenueChartRow } from './revenue-chart-rows';

function chartSummary({ current }: RevenueComparison): string {
  const busiest = current.periods.reduce((best, period) =>
    parseCents(period.total_revenue) > parseCents(best.total_revenue) ? period : best,
  );
  return (
    `Revenue by ${current.granularity} from ${current.start} to ${current.end}: ` +
    `${formatMoney(current.totals.total_revenue)} from ${formatCount(current.totals.payment_count)} payments; ` +
    `the highest ${current.granularity} starts ${busiest.period_start} with ${formatMoney(busiest.total_revenue)}.`
  );
}

function RevenueTooltip({ active, payload }: { active?: boolean; payload?: ReadonlyArray<{ payload?: RevenueChartRow }> }) {
  const row = payload?.[0]?.payload;
  if (!active || !row) return null;
  return (
    <div className="chart-tooltip">
      <strong>{row.period}</strong>
      <div>Revenue {row.revenueText}</div>
      <div>{formatCount(row.paymentCount)} payments</div>
      {row.averageText && <div>7-day average {row.averageText}</div>}
    </div>
  );
}

const tickFormatter = (value: number) => value.toLocaleString('en-US', { maximumFractionDigits: 0 });

export function RevenueChart({ comparison }: { comparison: RevenueComparison }) {
  const rows = revenueChartRows(comparison);
  const daily = comparison.current.granularity === 'day';
  return (
    <>
      <ChartFigure summary={chartSummary(comparison)} testId="revenue-chart">
        <ResponsiveContainer width="100%" height={320}>
          <ComposedChart accessibilityLayer={false} data={rows} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="period" tick={{ fontSize: 12 }} minTickGap={16} />
            <YAxis tickFormatter={tickFormatter} tick={{ fontSize: 12 }} width={72} />
            <Tooltip content={<RevenueTooltip />} />
            <Legend />
            <Bar dataKey="revenue" name={`Revenue per ${comparison.current.granularity}`} fill="#2f6db5" isAnimationActive={false} />
            {daily && (
              <Line dataKey="average" name="7-day moving average" stroke="#c4551b" strokeWidth={2} dot={false} isAnimationActive={false} />
            )}
          </ComposedChart>
        </ResponsiveContainer>
      </ChartFigure>
      {!daily && <p className="note">The 7-day moving average is drawn at day granularity.</p>}
      <details className="figures">
        <summary>Show the figures as a table</summary>
        <DataTable
          caption={`Revenue by ${comparison.current.granularity}`}
          rows={rows}
          rowKey={(row) => row.period}
          columns={[
            { header: comparison.current.granularity === 'day' ? 'Day' : 'Period', cell: (row) => row.period },
            { header: 'Revenue', cell: (row) => row.revenueText, numeric: true },
            { header: 'Payments', cell: (row) => formatCount(row.paymentCount), numeric: true },
            ...(daily ? [{ header: '7-day average', cell: (row: RevenueChartRow) => row.averageText, numeric: true }] : []),
          ]}
        />
      </details>
    </>
  );
}
