import { useState } from 'react';
import { DataTable } from '../../../components/DataTable';
import { DownloadCsvButton } from '../../../components/DownloadCsvButton';
import { Pager, useCursorPaging } from '../../../components/Pager';
import { QueryView } from '../../../components/QueryView';
import { Section } from '../../../components/Section';
import { formatCount, formatTimestamp } from '../../../lib/dates';
import { useApi } from '../../../lib/use-api';
import { RUN_STATUSES, getEtlRuns } from '../api/get-data-health';
import { StatusBadge } from './Freshness';

/** Pipeline runs, newest first, with each failure's message. */
export function RecentRuns() {
  const [status, setStatus] = useState('');
  const paging = useCursorPaging();
  const query = useApi(JSON.stringify([status, paging.cursor]), (signal) => getEtlRuns(status, paging.cursor, signal));
  return (
    <Section title="Recent runs" actions={<DownloadCsvButton path="/etl/runs" params={{ status }} label="pipeline runs" />}>
      <div className="filters">
        <label>
          Status
          <select
            name="status"
            value={status}
            onChange={(event) => {
              paging.reset();
              setStatus(event.target.value);
            }}
          >
            <option value="">All</option>
            {RUN_STATUSES.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </label>
      </div>
      <QueryView query={query} what="runs" isEmpty={(page) => page.items.length === 0} empty="No runs match.">
        {(page) => (
          <>
            <DataTable
              caption="Pipeline runs, newest first"
              rows={page.items}
              rowKey={(run) => run.run_id}
              columns={[
                { header: 'Process', cell: (run) => run.process_name },
                { header: 'Status', cell: (run) => <StatusBadge status={run.status} /> },
                { header: 'Started', cell: (run) => formatTimestamp(run.started_at) },
                { header: 'Completed', cell: (run) => (run.completed_at ? formatTimestamp(run.completed_at) : 'not yet') },
                { header: 'Rows', cell: (run) => (run.records_processed === null ? '' : formatCount(run.records_processed)), numeric: true },
                { header: 'Failure', cell: (run) => run.error_message ?? '' },
              ]}
            />
            <Pager label="runs" pageNumber={paging.pageNumber} nextCursor={page.next_cursor} onNext={paging.next} onPrevious={paging.previous} />
          </>
        )}
      </QueryView>
    </Section>
  );
}
