import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AUDITOR, FINANCE, mockApi, renderApp } from '../test/render-app';

const DATA_HEALTH = { tables: [], quarantine: [], failed_runs_last_7_days: 0 };
const NO_RUNS = { items: [], next_cursor: null };

describe('role-aware navigation', () => {
  it('shows finance the pages of its reports only', async () => {
    mockApi({ '/api/v1/data-health': { body: DATA_HEALTH }, '/api/v1/etl/runs': { body: NO_RUNS } });
    renderApp('/data-health', FINANCE);
    const nav = screen.getByRole('navigation', { name: 'Reports' });
    const links = within(nav).getAllByRole('link').map((link) => link.textContent);
    expect(links).toEqual(['Revenue', 'Receivables', 'Data health']);
  });

  it('shows a plain "not permitted" page outside the role', async () => {
    mockApi({});
    renderApp('/audit', FINANCE);
    expect(await screen.findByText(/not permitted/)).toBeInTheDocument();
  });

  it('opens the first permitted page at /', async () => {
    mockApi({ '/api/v1/data-health': { body: DATA_HEALTH }, '/api/v1/etl/runs': { body: NO_RUNS } });
    renderApp('/', AUDITOR);
    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent('/data-health'));
  });
});

describe('signing out', () => {
  it('forgets the token and the page', async () => {
    mockApi({ '/api/v1/audit': { body: { items: [], next_cursor: null } } });
    renderApp('/audit', AUDITOR);
    await userEvent.setup().click(await screen.findByRole('button', { name: 'Sign out' }));
    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent("/sign-in"));
    console.log('LOCATION', screen.getByTestId('location').textContent);
    expect(sessionStorage.getItem('reporting.token')).toBeNull();
  });
});

describe('an expired token', () => {
  it('clears the token, returns to sign-in keeping the page, and comes back after signing in', async () => {
    let signedIn = false;
    const fetchMock = mockApi({
      '/api/v1/audit': () =>
        signedIn
          ? { body: { items: [], next_cursor: null } }
          : { status: 401, body: { detail: 'Sign in again: the token is missing, expired or invalid.' } },
      '/api/v1/auth/token': () => {
        signedIn = true;
        return { body: { access_token: 'fresh-token', token_type: 'bearer', expires_in: 900 } };
      },
      '/api/v1/me': { body: AUDITOR },
    });
    renderApp('/audit?action=export_data', AUDITOR);

    await waitFor(() =>
      expect(screen.getByTestId('location')).toHaveTextContent(`/sign-in?next=${encodeURIComponent('/audit?action=export_data')}`),
    );
    expect(sessionStorage.getItem('reporting.token')).toBeNull();

    const user = userEvent.setup();
    await user.type(screen.getByLabelText('User name'), 'aud');
    await user.type(screen.getByLabelText('Password'), 'a long password');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent('/audit?action=export_data'));
    expect(await screen.findByText('No audit entries match.')).toBeInTheDocument();
    expect(sessionStorage.getItem('reporting.token')).toBe('fresh-token');
    const auditCalls = fetchMock.mock.calls.filter(([url]) => String(url).startsWith('/api/v1/audit'));
    expect(new Headers(auditCalls[auditCalls.length - 1][1]?.headers).get('Authorization')).toBe('Bearer fresh-token');
  });
});
