import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ChartFigure } from '../../../components/ChartFigure';
import { centsToChartValue, formatCents, parseCents } from '../../../lib/money';
import type { Payment } from '../api/get-payments';

interface DayTotal {
  day: string;
  amount: number;
  amountText: string;
  payments: number;
}

/** Payments of the page summed per day, oldest first (the API sends newest first). */
export function paymentDays(payments: readonly Payment[]): DayTotal[] {
  const byDay = new Map<string, { cents: bigint; payments: number }>();
  for (const payment of payments) {
    const day = byDay.get(payment.payment_date) ?? { cents: 0n, payments: 0 };
    byDay.set(payment.payment_date, { cents: day.cents + parseCents(payment.amount), payments: day.payments + 1 });
  }
  return [...byDay.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([day, total]) => ({ day, amount: centsToChartValue(total.cents), amountText: formatCents(total.cents), payments: total.payments }));
}

function TimelineTooltip({ active, payload }: { active?: boolean; payload?: ReadonlyArray<{ payload?: DayTotal }> }) {
  const day = payload?.[0]?.payload;
  if (!active || !day) return null;
  return (
    <div className="chart-tooltip">
      <strong>{day.day}</strong>
      <div>
        {day.amountText} in {day.payments} payment{day.payments === 1 ? '' : 's'}
      </div>
    </div>
  );
}

export function PaymentTimeline({ payments }: { payments: readonly Payment[] }) {
  const days = paymentDays(payments);
  const summary =
    `Payments of this page by day from ${days[0].day} to ${days[days.length - 1].day}: ` +
    days.map((day) => `${day.day} ${day.amountText}`).join('; ') + '.';
  return (
    <ChartFigure summary={summary} testId="payment-timeline">
      <ResponsiveContainer width="100%" height={240}>
        <BarChart accessibilityLayer={false} data={days} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="day" tick={{ fontSize: 12 }} minTickGap={16} />
          <YAxis tickFormatter={(value: number) => value.toLocaleString('en-US', { maximumFractionDigits: 0 })} tick={{ fontSize: 12 }} width={64} />
          <Tooltip content={<TimelineTooltip />} />
          <Bar dataKey="amount" name="Amount paid" fill="#2f6db5" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </ChartFigure>
  );
}
