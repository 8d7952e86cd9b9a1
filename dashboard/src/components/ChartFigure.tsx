import type { ReactNode } from 'react';

interface ChartFigureProps {
  /** A sentence describing what the chart shows, read by screen readers instead of the drawing. */
  summary: string;
  testId?: string;
  children: ReactNode;
}

/**
 * A chart with its text alternative: the drawing is one image with a summary, and each chart
 * has its figures in a table beside it, so nothing is only in the drawing.
 */
export function ChartFigure({ summary, testId, children }: ChartFigureProps) {
  return (
    <figure className="chart" data-testid={testId}>
      <div role="img" aria-label={summary} className="chart-canvas">
        {children}
      </div>
      <figcaption className="visually-hidden">{summary}</figcaption>
    </figure>
  );
}
