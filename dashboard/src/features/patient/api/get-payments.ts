import { getJson, type QueryParams } from '../../../lib/api';

export const PSEUDONYM = /^pt_[0-9a-f]{32}$/;
export const PAYMENT_STATUSES = ['paid', 'pending', 'failed', 'refunded'] as const;

export interface Payment {
  patient_id: string;
  payment_date: string;
  amount: string;
  payment_status: string;
  invoice_id: string | null;
}

export interface PaymentFilters {
  patient_id: string;
  start?: string;
  end?: string;
  status?: string;
}

export interface PaymentPage {
  items: Payment[];
  next_cursor: string | null;
}

export function paymentParams(filters: PaymentFilters): QueryParams {
  return { patient_id: filters.patient_id, start: filters.start, end: filters.end, status: filters.status };
}

export function getPayments(filters: PaymentFilters, cursor: string | null, signal?: AbortSignal): Promise<PaymentPage> {
  return getJson<PaymentPage>('/payments', { ...paymentParams(filters), cursor, limit: 100 }, signal);
}
