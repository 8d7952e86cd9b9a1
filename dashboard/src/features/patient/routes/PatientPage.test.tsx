import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { mockApi, renderApp, requestedUrls } from '../../../test/render-app';
import type { Payment } from '../api/get-payments';
import { paymentDays } from '../components/PaymentTimeline';

const PATIENT = 'pt_0123456789abcdef0123456789abcdef';
const PAYMENTS: Payment[] = [
  { patient_id: PATIENT, payment_date: '2026-03-02', amount: '0.10', payment_status: 'paid', invoice_id: 'INV-2026-000002' },
  { patient_id: PATIENT, payment_date: '2026-03-02', amount: '0.20', payment_status: 'paid', invoice_id: null },
  { patient_id: PATIENT, payment_date: '2026-03-01', amount: '1234.5', payment_status: 'refunded', invoice_id: 'INV-2026-000001' },
];

describe('PatientPage', () => {
  it('asks for a pseudonym before reading anything', async () => {
    const fetchMock = mockApi({});
    renderApp('/patient');
    expect(await screen.findByText('Enter a patient pseudonym to see the payment history.')).toBeInTheDocument();
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('refuses what is not a pseudonym', async () => {
    const fetchMock = mockApi({});
    renderApp('/patient');
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('Patient pseudonym'), 'Jane Doe');
    await user.click(screen.getByRole('button', { name: 'Show payments' }));
    expect(screen.getByRole('alert')).toHaveTextContent('Enter a patient pseudonym: pt_ followed by 32 hexadecimal digits.');
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('shows a loading state while the API answers', async () => {
    mockApi({ '/api/v1/payments': 'pending' });
    renderApp(`/patient?patient_id=${PATIENT}`);
    expect(await screen.findByText('Loading payments…')).toHaveAttribute('role', 'status');
  });

  it("shows the patient's timeline and payments", async () => {
    const fetchMock = mockApi({ '/api/v1/payments': { body: { items: PAYMENTS, next_cursor: null } } });
    renderApp('/patient');
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('Patient pseudonym'), PATIENT);
    await user.selectOptions(screen.getByLabelText('Status'), 'paid');
    await user.click(screen.getByRole('button', { name: 'Show payments' }));

    const table = await screen.findByRole('table', { name: 'Payments, newest first' });
    expect(within(table).getByRole('row', { name: '2026-03-01 1,234.50 refunded INV-2026-000001' })).toBeInTheDocument();
    expect(within(table).getByRole('row', { name: '2026-03-02 0.20 paid none' })).toBeInTheDocument();
    expect(screen.getByRole('img', { name: /2026-03-01 1,234.50; 2026-03-02 0.30/ })).toBeInTheDocument();
    expect(requestedUrls(fetchMock)).toEqual([`/api/v1/payments?patient_id=${PATIENT}&status=paid&limit=100`]);
    expect(screen.getByTestId('location')).toHaveTextContent(`/patient?patient_id=${PATIENT}&status=paid`);
  });

  it('shows an empty state when the patient has no payments', async () => {
    mockApi({ '/api/v1/payments': { body: { items: [], next_cursor: null } } });
    renderApp(`/patient?patient_id=${PATIENT}`);
    expect(await screen.findByText('No payments for this patient match.')).toBeInTheDocument();
  });

  it("shows the API's sentence when the read fails", async () => {
    mockApi({ '/api/v1/payments': { status: 403, body: { detail: 'Your role (finance) is not permitted to read patient_payment_history.' } } });
    renderApp(`/patient?patient_id=${PATIENT}`);
    expect(await screen.findByRole('alert')).toHaveTextContent('Your role (finance) is not permitted to read patient_payment_history.');
  });

  it('pages with next_cursor', async () => {
    const fetchMock = mockApi({
      '/api/v1/payments': (url) =>
        url.searchParams.get('cursor') ? { body: { items: [PAYMENTS[2]], next_cursor: null } } : { body: { items: PAYMENTS.slice(0, 2), next_cursor: 'c2' } },
    });
    renderApp(`/patient?patient_id=${PATIENT}`);
    await userEvent.setup().click(await screen.findByRole('button', { name: 'Next page' }));
    await waitFor(() => expect(requestedUrls(fetchMock)).toContain(`/api/v1/payments?patient_id=${PATIENT}&cursor=c2&limit=100`));
    expect(await screen.findByText('INV-2026-000001')).toBeInTheDocument();
  });
});

describe('paymentDays', () => {
  it('sums each day in cents, oldest first', () => {
    expect(paymentDays(PAYMENTS).map((day) => [day.day, day.amountText, day.payments])).toEqual([
      ['2026-03-01', '1,234.50', 1],
      ['2026-03-02', '0.30', 2],
    ]);
  });
});
