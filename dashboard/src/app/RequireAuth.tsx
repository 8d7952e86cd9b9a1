import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { NotPermitted } from '../components/NotPermitted';
import { useAuth, useMe } from '../lib/auth';
import { canSee, type PageInfo } from '../lib/reports';

/** Signed-in users only; anyone else goes to sign-in and comes back to this page afterwards. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { state, retry } = useAuth();
  const location = useLocation();
  if (state.status === 'checking') {
    return (
      <p className="state state-loading" role="status">
        Loading your account…
      </p>
    );
  }
  if (state.status === 'unavailable') {
    return (
      <div className="plain-page">
        <p className="state-error" role="alert">
          {state.message}
        </p>
        <button type="button" onClick={retry}>
          Try again
        </button>
      </div>
    );
  }
  if (state.status === 'signed-out') {
    if (!state.keepPage) return <Navigate to="/sign-in" replace />;
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={`/sign-in?next=${encodeURIComponent(next)}`} replace />;
  }
  return <>{children}</>;
}

/** A page the role may not read shows a plain "not permitted" page instead. */
export function RequirePage({ page, children }: { page: PageInfo; children: ReactNode }) {
  const me = useMe();
  return canSee(me, page) ? <>{children}</> : <NotPermitted page={page.label} role={me.role} />;
}
