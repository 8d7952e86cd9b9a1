import { getJson } from '../../../lib/api';

export interface RunSummary {
  run_id: string;
  status: string;
  started_at: string;
  completed_at: string | null;
}

export interface DataHealth {
  tables: { table: string; last_refreshed_at: string | null; latest_run: RunSummary | null }[];
  quarantine: { source_table: string; reason: string; rows: number }[];
  failed_runs_last_7_days: number;
}

export interface EtlRun extends RunSummary {
  process_name: string;
  records_processed: number | null;
  error_message: string | null;
}

export interface EtlRunPage {
  items: EtlRun[];
  next_cursor: string | null;
}

export const RUN_STATUSES = ['running', 'completed', 'failed', 'stopped'] as const;

export function getDataHealth(signal?: AbortSignal): Promise<DataHealth> {
  return getJson<DataHealth>('/data-health', undefined, signal);
}

export function getEtlRuns(status: string, cursor: string | null, signal?: AbortSignal): Promise<EtlRunPage> {
  return getJson<EtlRunPage>('/etl/runs', { status, cursor, limit: 25 }, signal);
}
