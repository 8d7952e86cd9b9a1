import { getJson, type QueryParams } from '../../../lib/api';

export type PaymentStatus = 'overdue' | 'collection' | 'written_off';
export const PAYMENT_STATUSES: readonly PaymentStatus[] = ['overdue', 'collection', 'written_off'];

export interface AgingBucket {
  bucket: string;
  invoice_count: number;
  amount_due: string;
}

export interface AgingReport {
  as_of: string | null;
  buckets: AgingBucket[];
  by_status: { payment_status: PaymentStatus; invoice_count: number; amount_due: string }[];
  totals: { invoice_count: number; amount_due: string };
}

export interface OverdueInvoice {
  invoice_id: string;
  patient_id: string;
  amount_due: string;
  days_overdue: number;
  last_payment_date: string | null;
  payment_status: PaymentStatus;
}

export interface Page<Item> {
  items: Item[];
  next_cursor: string | null;
}

export interface OverdueFilters {
  status?: string;
  min_days_overdue?: string;
}

export function getAging(signal?: AbortSignal): Promise<AgingReport> {
  return getJson<AgingReport>('/outstanding/aging', undefined, signal);
}

export function overdueParams(filters: OverdueFilters): QueryParams {
  return { status: filters.status, min_days_overdue: filters.min_days_overdue };
}

export function getOverdue(filters: OverdueFilters, cursor: string | null, signal?: AbortSignal): Promise<Page<OverdueInvoice>> {
  return getJson<Page<OverdueInvoice>>('/outstanding', { ...overdueParams(filters), cursor, limit: 50 }, signal);
}
