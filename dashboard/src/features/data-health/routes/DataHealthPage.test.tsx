import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { mockApi, renderApp, requestedUrls } from '../../../test/render-app';
import type { DataHealth, EtlRun } from '../api/get-data-health';

const HEALTH: DataHealth = {
  tables: [
    {
      table: 'revenue_metrics',
      last_refreshed_at: '2026-03-20T09:00:00Z',
      latest_run: { run_id: 'r1', status: 'completed', started_at: '2026-03-20T08:58:00Z', completed_at: '2026-03-20T09:00:00Z' },
    },
    { table: 'outstanding_payments', last_refreshed_at: null, latest_run: null },
  ],
  quarantine: [
    { source_table: 'payments', reason: 'amount is not a number', rows: 12 },
    { source_table: 'payments', reason: 'no resolvable patient', rows: 1000 },
  ],
  failed_runs_last_7_days: 1,
};

const FAILED_RUN: EtlRun = {
  run_id: 'r2',
  process_name: 'daily_refresh',
  status: 'failed',
  started_at: '2026-03-19T06:00:00Z',
  completed_at: '2026-03-19T06:01:00Z',
  records_processed: 0,
  error_message: 'Staging found 3 payments without a patient.',
};

describe('DataHealthPage', () => {
  it('shows loading states while the API answers', async () => {
    mockApi({ '/api/v1/data-health': 'pending', '/api/v1/etl/runs': 'pending' });
    renderApp('/data-health');
    expect(await screen.findByText('Loading data health…')).toHaveAttribute('role', 'status');
    expect(screen.getByText('Loading runs…')).toHaveAttribute('role', 'status');
  });

  it('shows freshness, quarantine counts and failed runs with their messages', async () => {
    mockApi({ '/api/v1/data-health': { body: HEALTH }, '/api/v1/etl/runs': { body: { items: [FAILED_RUN], next_cursor: null } } });
    renderApp('/data-health');

    const freshness = await screen.findByRole('table', { name: 'Freshness of each reporting table' });
    expect(within(freshness).getByRole('row', { name: /revenue_metrics 2026-03-20 09:00 UTC completed/ })).toBeInTheDocument();
    expect(within(freshness).getByRole('row', { name: /outstanding_payments never none/ })).toBeInTheDocument();
    expect(screen.getByTestId('kpi-failed-runs')).toHaveTextContent('1');
    expect(screen.getByTestId('kpi-quarantined-rows')).toHaveTextContent('1,012');
    expect(screen.getByRole('table', { name: 'Quarantined rows per reason' })).toHaveTextContent('amount is not a number');

    const runs = await screen.findByRole('table', { name: 'Pipeline runs, newest first' });
    expect(within(runs).getByText('Staging found 3 payments without a patient.')).toBeInTheDocument();
  });

  it('shows empty states', async () => {
    mockApi({
      '/api/v1/data-health': { body: { tables: [], quarantine: [], failed_runs_last_7_days: 0 } },
      '/api/v1/etl/runs': { body: { items: [], next_cursor: null } },
    });
    renderApp('/data-health');
    expect(await screen.findByText('No reporting tables are known yet.')).toBeInTheDocument();
    expect(await screen.findByText('No runs match.')).toBeInTheDocument();
  });

  it('says when nothing is quarantined', async () => {
    mockApi({ '/api/v1/data-health': { body: { ...HEALTH, quarantine: [] } }, '/api/v1/etl/runs': { body: { items: [], next_cursor: null } } });
    renderApp('/data-health');
    expect(await screen.findByText('No rows are quarantined.')).toBeInTheDocument();
  });

  it("shows the API's sentences when the reads fail", async () => {
    mockApi({
      '/api/v1/data-health': { status: 503, body: { detail: 'The reporting database is unavailable; try again shortly.' } },
      '/api/v1/etl/runs': { status: 500, body: 'Internal Server Error' },
    });
    renderApp('/data-health');
    await waitFor(() => expect(screen.getAllByRole('alert')).toHaveLength(2));
    expect(screen.getByText('The reporting database is unavailable; try again shortly.')).toBeInTheDocument();
    expect(screen.getByText('The reporting API answered with status 500.')).toBeInTheDocument();
  });

  it('filters runs by status', async () => {
    const fetchMock = mockApi({ '/api/v1/data-health': { body: HEALTH }, '/api/v1/etl/runs': { body: { items: [FAILED_RUN], next_cursor: null } } });
    renderApp('/data-health');
    await screen.findByText('Staging found 3 payments without a patient.');
    await userEvent.setup().selectOptions(screen.getByLabelText('Status'), 'failed');
    await waitFor(() => expect(requestedUrls(fetchMock)).toContain('/api/v1/etl/runs?status=failed&limit=25'));
  });
});
