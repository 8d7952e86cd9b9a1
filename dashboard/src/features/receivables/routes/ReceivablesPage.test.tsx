import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { FINANCE, mockApi, renderApp, requestedUrls } from '../../../test/render-app';
import type { AgingReport, OverdueInvoice } from '../api/get-receivables';

const PATIENT = 'pt_0123456789abcdef0123456789abcdef';

const AGING: AgingReport = {
  as_of: '2026-03-20',
  buckets: [
    { bucket: '0-30', invoice_count: 3, amount_due: '120.00' },
    { bucket: '31-60', invoice_count: 2, amount_due: '1500.5' },
    { bucket: '61-90', invoice_count: 0, amount_due: '0.00' },
    { bucket: '91-120', invoice_count: 1, amount_due: '99999999.99' },
    { bucket: '120+', invoice_count: 0, amount_due: '0.00' },
  ],
  by_status: [
    { payment_status: 'overdue', invoice_count: 4, amount_due: '1620.50' },
    { payment_status: 'collection', invoice_count: 1, amount_due: '99999999.99' },
    { payment_status: 'written_off', invoice_count: 1, amount_due: '0.00' },
  ],
  totals: { invoice_count: 6, amount_due: '100001620.49' },
};

const EMPTY_AGING: AgingReport = {
  as_of: null,
  buckets: AGING.buckets.map((bucket) => ({ ...bucket, invoice_count: 0, amount_due: '0.00' })),
  by_status: AGING.by_status.map((row) => ({ ...row, invoice_count: 0, amount_due: '0.00' })),
  totals: { invoice_count: 0, amount_due: '0.00' },
};

const INVOICE: OverdueInvoice = {
  invoice_id: 'INV-2026-000123',
  patient_id: PATIENT,
  amount_due: '50.00',
  days_overdue: 45,
  last_payment_date: null,
  payment_status: 'overdue',
};

describe('ReceivablesPage', () => {
  it('shows loading states while the API answers', async () => {
    mockApi({ '/api/v1/outstanding/aging': 'pending', '/api/v1/outstanding': 'pending' });
    renderApp('/receivables');
    expect(await screen.findByText('Loading the aging summary…')).toHaveAttribute('role', 'status');
    expect(screen.getByText('Loading overdue invoices…')).toHaveAttribute('role', 'status');
  });

  it('shows the aging chart, the status mix and the overdue list with pseudonymous ids', async () => {
    mockApi({ '/api/v1/outstanding/aging': { body: AGING }, '/api/v1/outstanding': { body: { items: [INVOICE], next_cursor: null } } });
    renderApp('/receivables');

    const chart = await screen.findByTestId('aging-chart');
    expect(within(chart).getByRole('img')).toHaveAccessibleName(expect.stringContaining('91-120 days 99,999,999.99 (1 invoices)'));
    const mix = screen.getByRole('table', { name: 'Outstanding invoices by payment status' });
    expect(within(mix).getByRole('row', { name: /In collection 1 99,999,999.99/ })).toBeInTheDocument();
    expect(within(mix).getByRole('row', { name: /Total 6 100,001,620.49/ })).toBeInTheDocument();
    expect(screen.getByRole('table', { name: 'Amount due by days overdue' })).toHaveTextContent('1,500.50');

    const list = await screen.findByRole('table', { name: 'Overdue invoices, most overdue first' });
    expect(within(list).getByText(PATIENT)).toBeInTheDocument();
    expect(within(list).getByRole('row', { name: /INV-2026-000123 .* 50.00 45 none Overdue/ })).toBeInTheDocument();
  });

  it('shows empty states when nothing is outstanding', async () => {
    mockApi({ '/api/v1/outstanding/aging': { body: EMPTY_AGING }, '/api/v1/outstanding': { body: { items: [], next_cursor: null } } });
    renderApp('/receivables');
    expect(await screen.findByText('No invoices are outstanding.')).toBeInTheDocument();
    expect(await screen.findByText('No overdue invoices match.')).toBeInTheDocument();
  });

  it("shows the API's sentences when the reads fail", async () => {
    mockApi({
      '/api/v1/outstanding/aging': { status: 503, body: { detail: 'The reporting database is unavailable; try again shortly.' } },
      '/api/v1/outstanding': { status: 422, body: { detail: "Parameter 'min_days_overdue' must be a whole number.", parameter: 'min_days_overdue' } },
    });
    renderApp('/receivables');
    const alerts = await screen.findAllByRole('alert');
    await waitFor(() => expect(screen.getAllByRole('alert')).toHaveLength(2));
    expect(alerts[0]).toHaveTextContent('The reporting database is unavailable; try again shortly.');
    expect(screen.getByText("Parameter 'min_days_overdue' must be a whole number.")).toBeInTheDocument();
  });

  it('filters the overdue list and pages with next_cursor', async () => {
    const fetchMock = mockApi({
      '/api/v1/outstanding/aging': { body: AGING },
      '/api/v1/outstanding': (url) =>
        url.searchParams.get('cursor') === 'page-2'
          ? { body: { items: [{ ...INVOICE, invoice_id: 'INV-2026-000999', days_overdue: 31 }], next_cursor: null } }
          : { body: { items: [INVOICE], next_cursor: 'page-2' } },
    });
    renderApp('/receivables');
    await screen.findByText(PATIENT);
    const user = userEvent.setup();

    await user.selectOptions(screen.getByLabelText('Status'), 'collection');
    await user.type(screen.getByLabelText('Minimum days overdue'), '30');
    await user.click(screen.getByRole('button', { name: 'Filter' }));
    await waitFor(() => expect(requestedUrls(fetchMock)).toContain('/api/v1/outstanding?status=collection&min_days_overdue=30&limit=50'));

    await user.click(await screen.findByRole('button', { name: 'Next page' }));
    expect(await screen.findByText('INV-2026-000999')).toBeInTheDocument();
    expect(requestedUrls(fetchMock)).toContain('/api/v1/outstanding?status=collection&min_days_overdue=30&cursor=page-2&limit=50');
    expect(screen.getByText('Page 2')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Next page' })).toBeDisabled();

    await user.click(screen.getByRole('button', { name: 'Previous page' }));
    expect(await screen.findByText('INV-2026-000123')).toBeInTheDocument();
  });

  it('shows finance the aging summary without the per-invoice list', async () => {
    const fetchMock = mockApi({ '/api/v1/outstanding/aging': { body: AGING } });
    renderApp('/receivables', FINANCE);
    await screen.findByTestId('aging-chart');
    expect(screen.queryByRole('heading', { name: 'Overdue invoices' })).not.toBeInTheDocument();
    expect(requestedUrls(fetchMock)).toEqual(['/api/v1/outstanding/aging']);
  });
});
