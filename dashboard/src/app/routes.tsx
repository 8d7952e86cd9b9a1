import { lazy, Suspense, type ComponentType } from 'react';
import { Route, Routes } from 'react-router';
import { SignInPage } from '../features/auth/routes/SignInPage';
import { pageByPath } from '../lib/reports';
import { HomeRedirect } from './HomeRedirect';
import { Layout } from './Layout';
import { RequireAuth, RequirePage } from './RequireAuth';

// Each report page is its own chunk, so sign-in does not wait for the charting library.
const lazyPage = (load: () => Promise<ComponentType>) => lazy(async () => ({ default: await load() }));
const RevenuePage = lazyPage(() => import('../features/revenue/routes/RevenuePage').then((m) => m.RevenuePage));
const ReceivablesPage = lazyPage(() => import('../features/receivables/routes/ReceivablesPage').then((m) => m.ReceivablesPage));
const PatientPage = lazyPage(() => import('../features/patient/routes/PatientPage').then((m) => m.PatientPage));
const DataHealthPage = lazyPage(() => import('../features/data-health/routes/DataHealthPage').then((m) => m.DataHealthPage));
const AuditPage = lazyPage(() => import('../features/audit/routes/AuditPage').then((m) => m.AuditPage));

const REPORT_PAGES: [string, ComponentType][] = [
  ['/revenue', RevenuePage],
  ['/receivables', ReceivablesPage],
  ['/patient', PatientPage],
  ['/data-health', DataHealthPage],
  ['/audit', AuditPage],
];

function NotFound() {
  return (
    <section className="card plain-page">
      <h1>Page not found</h1>
      <p>There is no page at this address.</p>
    </section>
  );
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/sign-in" element={<SignInPage />} />
      <Route
        element={
          <RequireAuth>
            <Layout />
          </RequireAuth>
        }
      >
        <Route index element={<HomeRedirect />} />
        {REPORT_PAGES.map(([path, Page]) => (
          <Route
            key={path}
            path={path}
            element={
              <RequirePage page={pageByPath(path)}>
                <Suspense fallback={<p className="state state-loading" role="status">Loading the page…</p>}>
                  <Page />
                </Suspense>
              </RequirePage>
            }
          />
        ))}
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
