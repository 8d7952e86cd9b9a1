import { DataTable } from '../../../components/DataTable';
import { Tile } from '../../../components/Tile';
import { formatCount, formatTimestamp } from '../../../lib/dates';
import type { DataHealth } from '../api/get-data-health';

/** When each reporting table was last refreshed, the run that did it, and what is quarantined. */
export function Freshness({ health }: { health: DataHealth }) {
  return (
    <>
      <div className="tiles">
        <Tile label="Failed runs in the last 7 days" value={formatCount(health.failed_runs_last_7_days)} testId="kpi-failed-runs" />
        <Tile
          label="Quarantined rows"
          value={formatCount(health.quarantine.reduce((total, row) => total + row.rows, 0))}
          testId="kpi-quarantined-rows"
        />
      </div>
      <h3>Freshness of each reporting table</h3>
      <DataTable
        caption="Freshness of each reporting table"
        rows={health.tables}
        rowKey={(table) => table.table}
        columns={[
          { header: 'Table', cell: (table) => table.table },
          { header: 'Last refreshed', cell: (table) => formatTimestamp(table.last_refreshed_at) },
          { header: 'Latest run', cell: (table) => (table.latest_run ? <StatusBadge status={table.latest_run.status} /> : 'none') },
          { header: 'Run started', cell: (table) => (table.latest_run ? formatTimestamp(table.latest_run.started_at) : '') },
        ]}
      />
      <h3>Quarantined rows per reason</h3>
      {health.quarantine.length === 0 ? (
        <p className="state state-empty">No rows are quarantined.</p>
      ) : (
        <DataTable
          caption="Quarantined rows per reason"
          rows={health.quarantine}
          rowKey={(row) => `${row.source_table}:${row.reason}`}
          columns={[
            { header: 'Source table', cell: (row) => row.source_table },
            { header: 'Reason', cell: (row) => row.reason },
            { header: 'Rows', cell: (row) => formatCount(row.rows), numeric: true },
          ]}
        />
      )}
    </>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}
