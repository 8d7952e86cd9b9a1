import { fireEvent, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { mockApi, renderApp, requestedUrls } from '../../../test/render-app';
import type { RevenueReport } from '../api/get-revenue';

function days(start: string, amounts: string[]) {
  return amounts.map((amount, index) => {
    const day = `${start.slice(0, 8)}${String(Number(start.slice(8)) + index).padStart(2, '0')}`;
    return { period_start: day, period_end: day, total_revenue: amount, payment_count: amount === '0.00' ? 0 : 2, average_payment: amount };
  });
}

const MARCH: RevenueReport = {
  start: '2026-03-01',
  end: '2026-03-07',
  granularity: 'day',
  periods: days('2026-03-01', ['100.00', '200.50', '0.00', '300.00', '234.00', '200.00', '200.00']),
  totals: { total_revenue: '1234.50', payment_count: 12, average_payment: '102.88' },
};

const FEBRUARY_END: RevenueReport = {
  start: '2026-02-22',
  end: '2026-02-28',
  granularity: 'day',
  periods: days('2026-02-22', ['100.00', '100.00', '100.00', '100.00', '200.00', '200.00', '200.00']),
  totals: { total_revenue: '1000.00', payment_count: 10, average_payment: '100.00' },
};

function revenueApi(current: RevenueReport, previous: RevenueReport) {
  return mockApi({
    '/api/v1/revenue': (url) => ({ body: url.searchParams.get('start') === previous.start ? previous : current }),
  });
}

describe('RevenuePage', () => {
  it('shows a loading state while the API answers', async () => {
    mockApi({ '/api/v1/revenue': 'pending' });
    renderApp('/revenue');
    expect(await screen.findByText('Loading revenue…')).toHaveAttribute('role', 'status');
  });

  it('shows the totals of the range as the API sent them and the change against the previous period', async () => {
    const fetchMock = revenueApi(MARCH, FEBRUARY_END);
    renderApp('/revenue');

    expect(await screen.findByTestId('kpi-total-revenue')).toHaveTextContent('1,234.50');
    expect(screen.getByTestId('kpi-payment-count')).toHaveTextContent('12');
    expect(screen.getByTestId('kpi-average-payment')).toHaveTextContent('102.88');
    expect(screen.getByTestId('kpi-revenue-change')).toHaveTextContent('+23.5%');
    expect(screen.getByText('+234.50 against 1,000.00 for 2026-02-22 to 2026-02-28')).toBeInTheDocument();
    expect(requestedUrls(fetchMock)).toEqual([
      '/api/v1/revenue?granularity=day',
      '/api/v1/revenue?start=2026-02-22&end=2026-02-28&granularity=day',
    ]);
    // Until the user picks a range, the inputs show the API's default range.
    expect(screen.getByLabelText('From')).toHaveValue('2026-03-01');
    expect(screen.getByLabelText('To')).toHaveValue('2026-03-07');
    expect(screen.getByRole('img', { name: /Revenue by day from 2026-03-01 to 2026-03-07: 1,234.50 from 12 payments/ })).toBeInTheDocument();
  });

  it('shows "n/a" for the change when the previous period had no revenue', async () => {
    revenueApi(MARCH, { ...FEBRUARY_END, periods: days('2026-02-22', Array(7).fill('0.00')), totals: { total_revenue: '0.00', payment_count: 0, average_payment: '0.00' } });
    renderApp('/revenue');
    expect(await screen.findByTestId('kpi-revenue-change')).toHaveTextContent('n/a');
  });

  it('shows an empty state when the range has no payments', async () => {
    const empty = { ...MARCH, periods: days('2026-03-01', Array(7).fill('0.00')), totals: { total_revenue: '0.00', payment_count: 0, average_payment: '0.00' } };
    revenueApi(empty, FEBRUARY_END);
    renderApp('/revenue');
    expect(await screen.findByText('No payments in this range.')).toBeInTheDocument();
    expect(screen.getByTestId('kpi-total-revenue')).toHaveTextContent('0.00');
    expect(screen.getByTestId('kpi-revenue-change')).toHaveTextContent('-100.0%');
  });

  it("shows the API's sentence when the read fails", async () => {
    mockApi({ '/api/v1/revenue': { status: 503, body: { detail: 'The reporting database is unavailable; try again shortly.' } } });
    renderApp('/revenue');
    expect(await screen.findByRole('alert')).toHaveTextContent('The reporting database is unavailable; try again shortly.');
  });

  it('reads the chosen range and granularity, keeping them in the address', async () => {
    const fetchMock = revenueApi(MARCH, FEBRUARY_END);
    renderApp('/revenue');
    await screen.findByTestId('kpi-total-revenue');

    const user = userEvent.setup();
    fireEvent.change(screen.getByLabelText('From'), { target: { value: '2026-01-01' } });
    await user.selectOptions(screen.getByLabelText('By'), 'month');
    await user.click(screen.getByRole('button', { name: 'Show' }));

    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent('/revenue?start=2026-01-01&end=2026-03-07&granularity=month'));
    await waitFor(() => expect(requestedUrls(fetchMock)).toContain('/api/v1/revenue?start=2026-01-01&end=2026-03-07&granularity=month'));
  });

  it('refuses a range that ends before it starts', async () => {
    revenueApi(MARCH, FEBRUARY_END);
    renderApp('/revenue?start=2026-03-01&end=2026-03-07&granularity=day');
    await screen.findByTestId('kpi-total-revenue');
    const user = userEvent.setup();
    fireEvent.change(screen.getByLabelText('To'), { target: { value: '2026-02-01' } });
    await user.click(screen.getByRole('button', { name: 'Show' }));
    expect(screen.getByRole('alert')).toHaveTextContent('The start date must be on or before the end date.');
  });

  it('downloads the CSV twin with the bearer token and saves it under the server name', async () => {
    const fetchMock = mockApi({
      '/api/v1/revenue': (url) => ({ body: url.searchParams.get('start') === FEBRUARY_END.start ? FEBRUARY_END : MARCH }),
      '/api/v1/revenue.csv': {
        body: 'period_start,period_end,total_revenue,payment_count,average_payment\n',
        headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': 'attachment; filename="revenue_2026-03-01_2026-03-07.csv"' },
      },
    });
    const createObjectURL = vi.fn(() => 'blob:revenue');
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() }));
    const clicked: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this.download);
    });
    renderApp('/revenue');
    await screen.findByTestId('kpi-total-revenue');

    await userEvent.setup().click(screen.getByRole('button', { name: 'Download CSV of revenue' }));

    await waitFor(() => expect(clicked).toEqual(['revenue_2026-03-01_2026-03-07.csv']));
    const csvCall = fetchMock.mock.calls.find(([url]) => String(url).startsWith('/api/v1/revenue.csv'));
    expect(String(csvCall?.[0])).toBe('/api/v1/revenue.csv?start=2026-03-01&end=2026-03-07&granularity=day');
    expect(new Headers(csvCall?.[1]?.headers).get('Authorization')).toBe('Bearer test-token');
    expect(createObjectURL).toHaveBeenCalledOnce();
  });
});
