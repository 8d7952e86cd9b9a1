import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import * as api from './api';
import type { Me } from './reports';

export type AuthState =
  | { status: 'checking' }
  /** `keepPage`: come back to the page after signing in (false when the user signed out on purpose). */
  | { status: 'signed-out'; keepPage: boolean }
  | { status: 'unavailable'; message: string }
  | { status: 'signed-in'; me: Me };

interface AuthContextValue {
  state: AuthState;
  signIn: (username: string, password: string) => Promise<void>;
  signOut: () => void;
  retry: () => void;
}

const AuthContext = createContext<AuthContextValue | null>(null);

/** Who is signed in: a token in sessionStorage is checked against GET /api/v1/me. */
export function AuthProvider({ children, initialState }: { children: ReactNode; initialState?: AuthState }) {
  const [state, setState] = useState<AuthState>(
    () => initialState ?? (api.getToken() ? { status: 'checking' } : { status: 'signed-out', keepPage: true }),
  );

  useEffect(() => api.onUnauthorized(() => setState({ status: 'signed-out', keepPage: true })), []);

  useEffect(() => {
    if (state.status !== 'checking') return;
    const controller = new AbortController();
    api.getJson<Me>('/me', undefined, controller.signal).then(
      (me) => setState({ status: 'signed-in', me }),
      (error: unknown) => {
        if (api.isAbort(error)) return;
        if (error instanceof api.ApiError && error.status === 401) setState({ status: 'signed-out', keepPage: true });
        else setState({ status: 'unavailable', message: error instanceof Error ? error.message : String(error) });
      },
    );
    return () => controller.abort();
  }, [state.status]);

  const signIn = useCallback(async (username: string, password: string) => {
    await api.signIn(username, password);
    const me = await api.getJson<Me>('/me');
    setState({ status: 'signed-in', me });
  }, []);

  const signOut = useCallback(() => {
    api.signOut();
    setState({ status: 'signed-out', keepPage: false });
  }, []);

  const retry = useCallback(() => setState({ status: 'checking' }), []);

  const value = useMemo(() => ({ state, signIn, signOut, retry }), [state, signIn, signOut, retry]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth needs an AuthProvider above it.');
  return value;
}

/** The signed-in user; only for components rendered below RequireAuth. */
export function useMe(): Me {
  const { state } = useAuth();
  if (state.status !== 'signed-in') throw new Error('useMe is only available once signed in.');
  return state.me;
}
