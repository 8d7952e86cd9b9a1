import { useCallback, useEffect, useState } from 'react';
import { isAbort } from './api';

export type ApiQuery<T> =
  | { status: 'loading' }
  | { status: 'error'; message: string }
  | { status: 'success'; data: T };

/**
 * Runs `load` whenever `key` changes (the key names the request, e.g. its URL parameters)
 * and aborts the previous request, so a slow answer never overwrites a newer one.
 */
export function useApi<T>(key: string, load: (signal: AbortSignal) => Promise<T>): ApiQuery<T> & { reload: () => void } {
  const [query, setQuery] = useState<ApiQuery<T>>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setQuery({ status: 'loading' });
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setQuery({ status: 'success', data });
      },
      (error: unknown) => {
        if (controller.signal.aborted || isAbort(error)) return;
        setQuery({ status: 'error', message: error instanceof Error ? error.message : String(error) });
      },
    );
    return () => controller.abort();
    // `load` is recreated on every render; `key` says when the request really changes.
  }, [key, attempt]);

  const reload = useCallback(() => setAttempt((value) => value + 1), []);
  return { ...query, reload };
}
