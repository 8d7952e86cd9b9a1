import { NavLink, Outlet } from 'react-router';
import { useAuth, useMe } from '../lib/auth';
import { PAGES, canSee } from '../lib/reports';

export function Layout() {
  const me = useMe();
  const { signOut } = useAuth();
  return (
    <div className="layout">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top-bar">
        <span className="brand">Clinic billing reports</span>
        <nav aria-label="Reports">
          <ul>
            {PAGES.filter((page) => canSee(me, page)).map((page) => (
              <li key={page.path}>
                <NavLink to={page.path}>{page.label}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="account">
          <span>
            {me.username} ({me.role})
          </span>
          <button type="button" className="button-secondary" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
