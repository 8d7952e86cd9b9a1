import { render } from '@testing-library/react';
import { MemoryRouter, useLocation } from 'react-router';
import { vi } from 'vitest';
import { AppRoutes } from '../app/routes';
import { AuthProvider, type AuthState } from '../lib/auth';
import type { Me } from '../lib/reports';

/** A reply of the mocked API: a JSON body (or text) with a status, or a request that never answers. */
export type Reply = { status?: number; body?: unknown; headers?: Record<string, string> } | 'pending';
type Route = Reply | ((url: URL, init?: RequestInit) => Reply);

/**
 * Stubs `fetch`, the API client's only way out, with one reply per path
 * (e.g. "/api/v1/revenue"); returns the mock so tests can read the requests.
 */
export function mockApi(routes: Record<string, Route>) {
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input), 'http://localhost');
    const route = routes[url.pathname];
    const reply: Reply = !route
      ? { status: 404, body: { detail: `Nothing is mocked at ${url.pathname}.` } }
      : typeof route === 'function'
        ? route(url, init)
        : route;
    if (reply === 'pending') return new Promise<Response>(() => {});
    const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? null);
    return new Response(text, { status: reply.status ?? 200, headers: { 'Content-Type': 'application/json', ...reply.headers } });
  });
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

/** The URLs the app requested, as path + query, in order. */
export function requestedUrls(fetchMock: ReturnType<typeof mockApi>): string[] {
  return fetchMock.mock.calls.map(([input]) => {
    const url = new URL(String(input), 'http://localhost');
    return `${url.pathname}${url.search}`;
  });
}

export const ADMIN: Me = {
  username: 'ada',
  role: 'admin',
  reports: ['revenue', 'aging', 'outstanding', 'payments', 'data_health', 'etl_runs', 'audit'],
};
export const FINANCE: Me = { username: 'fin', role: 'finance', reports: ['revenue', 'aging', 'data_health', 'etl_runs'] };
export const AUDITOR: Me = { username: 'aud', role: 'auditor', reports: ['data_health', 'etl_runs', 'audit'] };

function LocationProbe() {
  const location = useLocation();
  return <div data-testid="location">{`${location.pathname}${location.search}`}</div>;
}

/** Renders the whole app at `path`, signed in as `me` (or in another auth state). */
export function renderApp(path: string, me: Me | null = ADMIN) {
  const state: AuthState = me ? { status: 'signed-in', me } : { status: 'signed-out', keepPage: true };
  if (me) sessionStorage.setItem('reporting.token', 'test-token');
  return render(
    <AuthProvider initialState={state}>
      <MemoryRouter initialEntries={[path]}>
        <AppRoutes />
        <LocationProbe />
      </MemoryRouter>
    </AuthProvider>,
  );
}
