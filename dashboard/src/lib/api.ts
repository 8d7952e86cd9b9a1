/**
 * The one client of the reporting API (same origin, under /api/v1). It keeps the bearer
 * token in sessionStorage, turns every failure into an ApiError whose message is one
 * sentence (the API's `detail` where there is one), and on a 401 clears the token and tells
 * the listeners (the auth provider), which send the user to sign-in.
 */

const API_ROOT = '/api/v1';
const TOKEN_KEY = 'reporting.token';

export class ApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export type QueryParams = Record<string, string | number | null | undefined>;

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

const unauthorizedListeners = new Set<() => void>();

/** Registers a listener for "the token is no longer accepted"; returns the unsubscribe function. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export function buildUrl(path: string, params: QueryParams = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') query.set(name, String(value));
  }
  const text = query.toString();
  return `${API_ROOT}${path}${text ? `?${text}` : ''}`;
}

/** Signs in with the OAuth2 password form and keeps the token for this browser tab. */
export async function signIn(username: string, password: string): Promise<void> {
  const response = await send(`${API_ROOT}/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({ username, password }).toString(),
  });
  if (!response.ok) throw await errorFrom(response);
  const body = (await response.json()) as { access_token: string };
  sessionStorage.setItem(TOKEN_KEY, body.access_token);
}

export function signOut(): void {
  clearToken();
}

export async function getJson<T>(path: string, params?: QueryParams, signal?: AbortSignal): Promise<T> {
  const response = await authorized(buildUrl(path, params), 'application/json', signal);
  return (await response.json()) as T;
}

/**
 * Fetches the CSV twin of a report (`path` + ".csv", same filters, with the token, so the
 * export is audited by the API) and saves it under the server's file name.
 */
export async function downloadCsv(path: string, params?: QueryParams): Promise<void> {
  const response = await authorized(buildUrl(`${path}.csv`, params), 'text/csv');
  const blob = await response.blob();
  const fileName = fileNameFrom(response.headers.get('Content-Disposition')) ?? defaultFileName(path);
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

async function authorized(url: string, accept: string, signal?: AbortSignal): Promise<Response> {
  const token = getToken();
  const headers: Record<string, string> = { Accept: accept };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await send(url, { headers, signal });
  if (response.status === 401) {
    clearToken();
    const error = await errorFrom(response);
    unauthorizedListeners.forEach((listener) => listener());
    throw error;
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, credentials: 'same-origin' });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'The reporting API could not be reached; check the connection and try again.');
  }
}

/** One sentence for the user: the API's `detail`, or a plain statement of the status. */
async function errorFrom(response: Response): Promise<ApiError> {
  let detail: unknown;
  try {
    detail = ((await response.json()) as { detail?: unknown }).detail;
  } catch {
    detail = undefined;
  }
  if (typeof detail === 'string' && detail.trim()) return new ApiError(response.status, detail.trim());
  // FastAPI's own validation errors carry a list; its first message is the sentence.
  if (Array.isArray(detail) && typeof detail[0]?.msg === 'string') {
    return new ApiError(response.status, `${detail[0].msg}.`.replace(/\.\.$/, '.'));
  }
  return new ApiError(response.status, `The reporting API answered with status ${response.status}.`);
}

function fileNameFrom(disposition: string | null): string | null {
  const match = disposition && /filename="?([^";]+)"?/i.exec(disposition);
  return match ? match[1] : null;
}

function defaultFileName(path: string): string {
  return `${path.replace(/^\//, '').replace(/\//g, '_')}.csv`;
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
