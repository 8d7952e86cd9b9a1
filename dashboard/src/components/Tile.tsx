import type { ReactNode } from 'react';

/** A key figure with its label; `testId` is the stable hook end-to-end tests read. */
export function Tile({ label, value, detail, testId }: { label: string; value: ReactNode; detail?: ReactNode; testId?: string }) {
  return (
    <div className="tile">
      <div className="tile-label">{label}</div>
      <div className="tile-value" data-testid={testId}>
        {value}
      </div>
      {detail && <div className="tile-detail">{detail}</div>}
    </div>
  );
}
