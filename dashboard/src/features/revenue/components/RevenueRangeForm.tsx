import { useState, type FormEvent } from 'react';
import { isIsoDate } from '../../../lib/dates';
import { GRANULARITIES, type Granularity, type RevenueFilters } from '../api/get-revenue';

interface RevenueRangeFormProps {
  filters: RevenueFilters;
  /** The range the API answered for: shown while the address names no dates (the API's default). */
  shown: { start: string; end: string } | null;
  onApply: (filters: Required<RevenueFilters>) => void;
}

export function RevenueRangeForm({ filters, shown, onApply }: RevenueRangeFormProps) {
  const [start, setStart] = useState(filters.start);
  const [end, setEnd] = useState(filters.end);
  const [granularity, setGranularity] = useState<Granularity>(filters.granularity);
  const [error, setError] = useState<string | null>(null);
  const startValue = start ?? shown?.start ?? '';
  const endValue = end ?? shown?.end ?? '';

  function apply(event: FormEvent) {
    event.preventDefault();
    if (!isIsoDate(startValue) || !isIsoDate(endValue)) return setError('Enter both dates as YYYY-MM-DD.');
    if (startValue > endValue) return setError('The start date must be on or before the end date.');
    setError(null);
    onApply({ start: startValue, end: endValue, granularity });
  }

  return (
    <form className="filters" onSubmit={apply} aria-label="Revenue range">
      <label>
        From
        <input type="date" name="start" value={startValue} onChange={(event) => setStart(event.target.value)} required />
      </label>
      <label>
        To
        <input type="date" name="end" value={endValue} onChange={(event) => setEnd(event.target.value)} required />
      </label>
      <label>
        By
        <select name="granularity" value={granularity} onChange={(event) => setGranularity(event.target.value as Granularity)}>
          {GRANULARITIES.map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Show</button>
      {error && (
        <p className="state-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
