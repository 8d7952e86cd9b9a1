import type { ReactNode } from 'react';
import type { ApiQuery } from '../lib/use-api';

interface QueryViewProps<T> {
  query: ApiQuery<T>;
  /** What is loading, e.g. "revenue". */
  what: string;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}

/** The loading, error, empty and data states of one API read, the same on every page. */
export function QueryView<T>({ query, what, isEmpty, empty, children }: QueryViewProps<T>) {
  if (query.status === 'loading') {
    return (
      <p className="state state-loading" role="status">
        Loading {what}…
      </p>
    );
  }
  if (query.status === 'error') {
    return (
      <p className="state state-error" role="alert">
        {query.message}
      </p>
    );
  }
  if (isEmpty?.(query.data)) {
    return <p className="state state-empty">{empty ?? `No ${what} to show.`}</p>;
  }
  return <>{children(query.data)}</>;
}
