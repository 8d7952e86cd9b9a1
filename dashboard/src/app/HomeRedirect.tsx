import { Navigate } from 'react-router';
import { useMe } from '../lib/auth';
import { PAGES, canSee } from '../lib/reports';

/** "/" opens the first page the role may read. */
export function HomeRedirect() {
  const me = useMe();
  const first = PAGES.find((page) => canSee(me, page));
  if (!first) {
    return (
      <section className="card plain-page">
        <h1>No reports</h1>
        <p>Your role ({me.role}) is not permitted to read any report.</p>
      </section>
    );
  }
  return <Navigate to={first.path} replace />;
}
