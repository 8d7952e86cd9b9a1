import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AUDITOR, mockApi, renderApp, requestedUrls } from '../../../test/render-app';
import type { AuditEntry } from '../api/get-audit';

const ENTRY: AuditEntry = {
  id: 7,
  timestamp: '2026-03-20T09:00:00Z',
  user_id: 'api:alice',
  action: 'export_data',
  resource_type: 'revenue_metrics',
  resource_id: '2026-03-01..2026-03-31/day',
  ip_address: '127.0.0.1',
  user_agent: 'Mozilla/5.0',
  row_count: 31,
};

describe('AuditPage', () => {
  it('shows a loading state while the API answers', async () => {
    mockApi({ '/api/v1/audit': 'pending' });
    renderApp('/audit', AUDITOR);
    expect(await screen.findByText('Loading the audit log…')).toHaveAttribute('role', 'status');
  });

  it('shows the audit entries', async () => {
    mockApi({ '/api/v1/audit': { body: { items: [ENTRY], next_cursor: null } } });
    renderApp('/audit', AUDITOR);
    const table = await screen.findByRole('table', { name: 'Audit entries, newest first' });
    expect(within(table).getByRole('row', { name: /2026-03-20 09:00 UTC api:alice export_data revenue_metrics 2026-03-01..2026-03-31\/day 31 127.0.0.1/ })).toBeInTheDocument();
  });

  it('shows an empty state', async () => {
    mockApi({ '/api/v1/audit': { body: { items: [], next_cursor: null } } });
    renderApp('/audit', AUDITOR);
    expect(await screen.findByText('No audit entries match.')).toBeInTheDocument();
  });

  it("shows the API's sentence when the read fails", async () => {
    mockApi({ '/api/v1/audit': { status: 422, body: { detail: "Parameter 'start' must be a date in the form YYYY-MM-DD.", parameter: 'start' } } });
    renderApp('/audit?start=2026-13-01', AUDITOR);
    expect(await screen.findByRole('alert')).toHaveTextContent("Parameter 'start' must be a date in the form YYYY-MM-DD.");
  });

  it('filters by user, action and dates, and pages with next_cursor', async () => {
    const fetchMock = mockApi({
      '/api/v1/audit': (url) =>
        url.searchParams.get('cursor') ? { body: { items: [{ ...ENTRY, id: 6, user_id: 'api:bob' }], next_cursor: null } } : { body: { items: [ENTRY], next_cursor: 'next-6' } },
    });
    renderApp('/audit', AUDITOR);
    await screen.findByText('api:alice');
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('User'), 'api:alice');
    await user.type(screen.getByLabelText('Action'), 'export_data');
    fireEvent.change(screen.getByLabelText('From'), { target: { value: '2026-03-01' } });
    fireEvent.change(screen.getByLabelText('To'), { target: { value: '2026-03-31' } });
    await user.click(screen.getByRole('button', { name: 'Filter' }));

    const filtered = '/api/v1/audit?user_id=api%3Aalice&action=export_data&start=2026-03-01&end=2026-03-31';
    await waitFor(() => expect(requestedUrls(fetchMock)).toContain(`${filtered}&limit=100`));
    await user.click(await screen.findByRole('button', { name: 'Next page' }));
    expect(await screen.findByText('api:bob')).toBeInTheDocument();
    expect(requestedUrls(fetchMock)).toContain(`${filtered}&cursor=next-6&limit=100`);
  });
});
