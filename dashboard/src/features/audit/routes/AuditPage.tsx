import { type FormEvent, useState } from 'react';
import { useSearchParams } from 'react-router';
import { DataTable } from '../../../components/DataTable';
import { DownloadCsvButton } from '../../../components/DownloadCsvButton';
import { Pager, useCursorPaging } from '../../../components/Pager';
import { QueryView } from '../../../components/QueryView';
import { Section } from '../../../components/Section';
import { formatCount, formatTimestamp, isIsoDate } from '../../../lib/dates';
import { useApi } from '../../../lib/use-api';
import { KNOWN_ACTIONS, auditParams, getAudit, type AuditFilters } from '../api/get-audit';

const FILTER_NAMES = ['user_id', 'action', 'start', 'end'] as const;

function filtersFrom(search: URLSearchParams): AuditFilters {
  return Object.fromEntries(FILTER_NAMES.map((name) => [name, search.get(name) ?? undefined]));
}

function AuditLog({ filters }: { filters: AuditFilters }) {
  const paging = useCursorPaging();
  const query = useApi(JSON.stringify([filters, paging.cursor]), (signal) => getAudit(filters, paging.cursor, signal));
  return (
    <Section title="Audit log" actions={<DownloadCsvButton path="/audit" params={auditParams(filters)} label="the audit log" />}>
      <QueryView query={query} what="the audit log" isEmpty={(page) => page.items.length === 0} empty="No audit entries match.">
        {(page) => (
          <>
            <DataTable
              caption="Audit entries, newest first"
              rows={page.items}
              rowKey={(entry) => String(entry.id)}
              columns={[
                { header: 'Time', cell: (entry) => formatTimestamp(entry.timestamp) },
                { header: 'User', cell: (entry) => entry.user_id },
                { header: 'Action', cell: (entry) => entry.action },
                { header: 'Resource', cell: (entry) => entry.resource_type },
                { header: 'Query', cell: (entry) => entry.resource_id ?? '' },
                { header: 'Rows', cell: (entry) => (entry.row_count === null ? '' : formatCount(entry.row_count)), numeric: true },
                { header: 'Address', cell: (entry) => entry.ip_address ?? '' },
                { header: 'User agent', cell: (entry) => <span className="truncate">{entry.user_agent ?? ''}</span> },
              ]}
            />
            <Pager label="audit entries" pageNumber={paging.pageNumber} nextCursor={page.next_cursor} onNext={paging.next} onPrevious={paging.previous} />
          </>
        )}
      </QueryView>
    </Section>
  );
}

/** Audit: who read or exported what, filterable by user, action and date. */
export function AuditPage() {
  const [search, setSearch] = useSearchParams();
  const filters = filtersFrom(search);
  const [error, setError] = useState<string | null>(null);

  function apply(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const values = Object.fromEntries(FILTER_NAMES.map((name) => [name, String(form.get(name) ?? '').trim()]));
    if ((values.start && !isIsoDate(values.start)) || (values.end && !isIsoDate(values.end))) return setError('Enter dates as YYYY-MM-DD.');
    if (values.start && values.end && values.start > values.end) return setError('The start date must be on or before the end date.');
    setError(null);
    setSearch(Object.fromEntries(Object.entries(values).filter(([, value]) => value)));
  }

  return (
    <div className="page">
      <h1>Audit</h1>
      <form className="filters" onSubmit={apply} aria-label="Filter the audit log" key={`form?${search}`}>
        <label>
          User
          <input name="user_id" defaultValue={filters.user_id} placeholder="api:alice" spellCheck={false} />
        </label>
        <label>
          Action
          <input name="action" defaultValue={filters.action} list="audit-actions" spellCheck={false} />
          <datalist id="audit-actions">
            {KNOWN_ACTIONS.map((action) => (
              <option key={action} value={action} />
            ))}
          </datalist>
        </label>
        <label>
          From
          <input type="date" name="start" defaultValue={filters.start} />
        </label>
        <label>
          To
          <input type="date" name="end" defaultValue={filters.end} />
        </label>
        <button type="submit">Filter</button>
        {error && (
          <p className="state-error" role="alert">
            {error}
          </p>
        )}
      </form>
      <AuditLog key={`log?${search}`} filters={filters} />
    </div>
  );
}
