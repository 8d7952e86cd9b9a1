import { getJson, type QueryParams } from '../../../lib/api';

export interface AuditEntry {
  id: number;
  timestamp: string;
  user_id: string;
  action: string;
  resource_type: string;
  resource_id: string | null;
  ip_address: string | null;
  user_agent: string | null;
  row_count: number | null;
}

export interface AuditFilters {
  user_id?: string;
  action?: string;
  start?: string;
  end?: string;
}

export interface AuditPage {
  items: AuditEntry[];
  next_cursor: string | null;
}

/** Actions the platform writes (docs/operations.md and docs/api.md); the filter also takes any other text. */
export const KNOWN_ACTIONS = ['view_report', 'export_data', 'access_denied', 'login_failed', 'materialize', 'retention_cleanup'] as const;

export function auditParams(filters: AuditFilters): QueryParams {
  return { user_id: filters.user_id, action: filters.action, start: filters.start, end: filters.end };
}

export function getAudit(filters: AuditFilters, cursor: string | null, signal?: AbortSignal): Promise<AuditPage> {
  return getJson<AuditPage>('/audit', { ...auditParams(filters), cursor, limit: 100 }, signal);
}
