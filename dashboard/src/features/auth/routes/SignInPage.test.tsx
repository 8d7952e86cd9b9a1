import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { FINANCE, mockApi, renderApp } from '../../../test/render-app';

async function signInAs(username: string, password: string) {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText('User name'), username);
  await user.type(screen.getByLabelText('Password'), password);
  await user.click(screen.getByRole('button', { name: 'Sign in' }));
}

describe('SignInPage', () => {
  it('has inputs named username and password', () => {
    mockApi({});
    renderApp('/sign-in', null);
    expect(screen.getByLabelText('User name')).toHaveAttribute('name', 'username');
    expect(screen.getByLabelText('Password')).toHaveAttribute('name', 'password');
  });

  it('posts the form encoded, keeps the token for the tab and opens the first permitted page', async () => {
    const fetchMock = mockApi({
      '/api/v1/auth/token': { body: { access_token: 'signed-token', token_type: 'bearer', expires_in: 900 } },
      '/api/v1/me': { body: FINANCE },
      '/api/v1/revenue': 'pending',
    });
    renderApp('/sign-in', null);
    await signInAs('fin', 'correct horse battery');

    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent('/revenue'));
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe('/api/v1/auth/token');
    expect(init?.method).toBe('POST');
    expect(new Headers(init?.headers).get('Content-Type')).toBe('application/x-www-form-urlencoded');
    expect(String(init?.body)).toBe('username=fin&password=correct+horse+battery');
    expect(sessionStorage.getItem('reporting.token')).toBe('signed-token');
    const meCall = fetchMock.mock.calls[1];
    expect(new Headers(meCall[1]?.headers).get('Authorization')).toBe('Bearer signed-token');
  });

  it('says why the sign-in failed in one sentence', async () => {
    mockApi({ '/api/v1/auth/token': { status: 401, body: { detail: 'Wrong user name or password.' } } });
    renderApp('/sign-in', null);
    await signInAs('fin', 'wrong password!');
    expect(await screen.findByRole('alert')).toHaveTextContent('Wrong user name or password.');
    expect(sessionStorage.getItem('reporting.token')).toBeNull();
  });

  it('reports throttling as the API words it', async () => {
    mockApi({ '/api/v1/auth/token': { status: 429, body: { detail: 'Too many failed sign-ins; try again in a minute.' } } });
    renderApp('/sign-in', null);
    await signInAs('fin', 'wrong password!');
    expect(await screen.findByRole('alert')).toHaveTextContent('Too many failed sign-ins; try again in a minute.');
  });

  it('sends a visitor without a token to sign-in', async () => {
    mockApi({});
    renderApp('/revenue', null);
    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent('/sign-in?next=%2Frevenue'));
  });
});
