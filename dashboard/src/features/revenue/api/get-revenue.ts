import { ApiError, getJson } from '../../../lib/api';
import { previousPeriod } from '../../../lib/dates';

export type Granularity = 'day' | 'week' | 'month';
export const GRANULARITIES: readonly Granularity[] = ['day', 'week', 'month'];

export interface RevenueFigures {
  total_revenue: string;
  payment_count: number;
  average_payment: string;
}

export interface RevenuePeriod extends RevenueFigures {
  period_start: string;
  period_end: string;
}

export interface RevenueReport {
  start: string;
  end: string;
  granularity: Granularity;
  periods: RevenuePeriod[];
  totals: RevenueFigures;
}

export interface RevenueFilters {
  /** Absent: the API's default range (the 30 days up to the clinic's today). */
  start?: string;
  end?: string;
  granularity: Granularity;
}

export interface RevenueComparison {
  current: RevenueReport;
  /** The previous period of equal length, by day; null with `previousError` when it could not be read. */
  previous: RevenueReport | null;
  previousError: string | null;
}

export function getRevenue(filters: RevenueFilters, signal?: AbortSignal): Promise<RevenueReport> {
  return getJson<RevenueReport>('/revenue', { ...filters }, signal);
}

/**
 * The selected range, then the period of equal length just before the range the API
 * answered for (week and month ranges are widened to whole periods). The previous period is
 * read by day: its totals give the change, its last days start the 7-day moving average.
 */
export async function getRevenueComparison(filters: RevenueFilters, signal?: AbortSignal): Promise<RevenueComparison> {
  const current = await getRevenue(filters, signal);
  try {
    const previous = await getRevenue({ ...previousPeriod(current.start, current.end), granularity: 'day' }, signal);
    return { current, previous, previousError: null };
  } catch (error) {
    // A 401 has already sent the user to sign-in; other failures only cost the comparison.
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    return { current, previous: null, previousError: error.message };
  }
}
