import { centsToChartValue, formatCents, formatMoney, movingAverageCents, parseCents } from '../../../lib/money';
import type { RevenueComparison } from '../api/get-revenue';

export interface RevenueChartRow {
  period: string;
  /** Bar height; the label below is the exact amount. */
  revenue: number;
  revenueText: string;
  paymentCount: number;
  /** 7-day moving average (day granularity only). */
  average: number | null;
  averageText: string | null;
}

/**
 * One chart row per period. At day granularity each day also carries the trailing 7-day
 * average, in cents; the days before the range come from the previous period, and where
 * fewer than 7 days exist the average is over the days available.
 */
export function revenueChartRows({ current, previous }: RevenueComparison): RevenueChartRow[] {
  const daily = current.granularity === 'day';
  const cents = current.periods.map((period) => parseCents(period.total_revenue));
  const leading = daily && previous ? previous.periods.map((period) => parseCents(period.total_revenue)) : [];
  const averages = daily ? movingAverageCents(cents, 7, leading) : null;
  return current.periods.map((period, index) => ({
    period: daily ? period.period_start : `${period.period_start} – ${period.period_end}`,
    revenue: centsToChartValue(cents[index]),
    revenueText: formatMoney(period.total_revenue),
    paymentCount: period.payment_count,
    average: averages ? centsToChartValue(averages[index]) : null,
    averageText: averages ? formatCents(averages[index]) : null,
  }));
}
