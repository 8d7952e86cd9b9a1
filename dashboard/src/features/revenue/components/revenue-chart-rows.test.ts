import { describe, expect, it } from 'vitest';
import type { RevenuePeriod, RevenueReport } from '../api/get-revenue';
import { revenueChartRows } from './revenue-chart-rows';

function report(start: string, amounts: string[], granularity: RevenueReport['granularity'] = 'day'): RevenueReport {
  const periods: RevenuePeriod[] = amounts.map((amount, index) => {
    const day = `${start.slice(0, 8)}${String(Number(start.slice(8)) + index).padStart(2, '0')}`;
    return { period_start: day, period_end: day, total_revenue: amount, payment_count: 1, average_payment: amount };
  });
  return { start, end: periods[periods.length - 1].period_end, granularity, periods, totals: { total_revenue: '0.00', payment_count: 0, average_payment: '0.00' } };
}

describe('revenueChartRows', () => {
  it('starts the moving average with the days before the range', () => {
    const previous = report('2026-03-01', ['7.00', '7.00', '7.00', '7.00', '7.00', '7.00']);
    const current = report('2026-03-07', ['0.00', '14.00']);
    const rows = revenueChartRows({ current, previous, previousError: null });
    expect(rows.map((row) => row.averageText)).toEqual(['6.00', '7.00']);
  });

  it('averages over the days available when the previous period is missing', () => {
    const current = report('2026-03-01', ['10.00', '20.00', '30.00']);
    const rows = revenueChartRows({ current, previous: null, previousError: 'unavailable' });
    expect(rows.map((row) => row.averageText)).toEqual(['10.00', '15.00', '20.00']);
  });

  it('draws no moving average for weeks or months', () => {
    const current = report('2026-03-01', ['10.00'], 'month');
    const rows = revenueChartRows({ current, previous: null, previousError: null });
    expect(rows[0].average).toBeNull();
    expect(rows[0].revenueText).toBe('10.00');
  });
});
