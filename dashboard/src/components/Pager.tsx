import { useCallback, useState } from 'react';

/** Cursor paging: the cursors of the pages seen so far, so "Previous" goes back exactly. */
export function useCursorPaging() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1];
  const next = useCallback((nextCursor: string) => setCursors((seen) => [...seen, nextCursor]), []);
  const previous = useCallback(() => setCursors((seen) => (seen.length > 1 ? seen.slice(0, -1) : seen)), []);
  const reset = useCallback(() => setCursors([null]), []);
  return { cursor, pageNumber: cursors.length, next, previous, reset };
}

interface PagerProps {
  pageNumber: number;
  nextCursor: string | null;
  onNext: (cursor: string) => void;
  onPrevious: () => void;
  label: string;
}

export function Pager({ pageNumber, nextCursor, onNext, onPrevious, label }: PagerProps) {
  return (
    <nav className="pager" aria-label={`Pages of ${label}`}>
      <button type="button" className="button-secondary" onClick={onPrevious} disabled={pageNumber <= 1}>
        Previous page
      </button>
      <span aria-live="polite">Page {pageNumber}</span>
      <button type="button" className="button-secondary" onClick={() => nextCursor && onNext(nextCursor)} disabled={!nextCursor}>
        Next page
      </button>
    </nav>
  );
}
