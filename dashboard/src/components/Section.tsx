import { useId, type ReactNode } from 'react';

interface SectionProps {
  title: string;
  /** Controls beside the title, such as a Download CSV button. */
  actions?: ReactNode;
  children: ReactNode;
}

/** A titled card of a page; its heading labels the region for screen readers. */
export function Section({ title, actions, children }: SectionProps) {
  const headingId = useId();
  return (
    <section className="card" aria-labelledby={headingId}>
      <div className="card-header">
        <h2 id={headingId}>{title}</h2>
        {actions && <div className="card-actions">{actions}</div>}
      </div>
      {children}
    </section>
  );
}
