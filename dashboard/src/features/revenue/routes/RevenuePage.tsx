import { useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { DownloadCsvButton } from '../../../components/DownloadCsvButton';
import { QueryView } from '../../../components/QueryView';
import { Section } from '../../../components/Section';
import { isIsoDate } from '../../../lib/dates';
import { useApi } from '../../../lib/use-api';
import { GRANULARITIES, getRevenueComparison, type Granularity, type RevenueFilters } from '../api/get-revenue';
import { RevenueChart } from '../components/RevenueChart';
import { RevenueTiles } from '../components/RevenueTiles';

function filtersFrom(search: URLSearchParams): RevenueFilters {
  const granularity = search.get('granularity');
  return {
    start: search.get('start') ?? undefined,
    end: search.get('end') ?? undefined,
    granularity: GRANULARITIES.includes(granularity as Granularity) ? (granularity as Granularity) : 'day',
  };
}

/** Revenue: totals, change against the previous period, and revenue per period with its 7-day average. */
export function RevenuePage() {
  const [search, setSearch] = useSearchParams();
  const filters = filtersFrom(search);
  const query = useApi(JSON.stringify(filters), (signal) => getRevenueComparison(filters, signal));
  const shown = query.status === 'success' ? query.data.current : null;

  const [draftStart, setDraftStart] = useState(filters.start ?? '');
  const [draftEnd, setDraftEnd] = useState(filters.end ?? '');
  const [draftGranularity, setDraftGranularity] = useState<Granularity>(filters.granularity);
  const [formError, setFormError] = useState<string | null>(null);
  // Until the user picks dates, the inputs show the range the API chose by default.
  const startValue = draftStart || (filters.start ? '' : shown?.start ?? '');
  const endValue = draftEnd || (filters.end ? '' : shown?.end ?? '');

  function apply(event: FormEvent) {
    event.preventDefault();
    if (!isIsoDate(startValue) || !isIsoDate(endValue)) return setFormError('Enter both dates as YYYY-MM-DD.');
    if (startValue > endValue) return setFormError('The start date must be on or before the end date.');
    setFormError(null);
    setSearch({ start: startValue, end: endValue, granularity: draftGranularity });
  }

  return (
    <div className="page">
      <h1>Revenue</h1>
      <form className="filters" onSubmit={apply} aria-label="Revenue range">
        <label>
          From
          <input type="date" name="start" value={startValue} onChange={(event) => setDraftStart(event.target.value)} required />
        </label>
        <label>
          To
          <input type="date" name="end" value={endValue} onChange={(event) => setDraftEnd(event.target.value)} required />
        </label>
        <label>
          By
          <select name="granularity" value={draftGranularity} onChange={(event) => setDraftGranularity(event.target.value as Granularity)}>
            {GRANULARITIES.map((granularity) => (
              <option key={granularity} value={granularity}>
                {granularity}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Show</button>
        {formError && (
          <p className="state-error" role="alert">
            {formError}
          </p>
        )}
      </form>
      <QueryView query={query} what="revenue">
        {(comparison) => (
          <>
            <RevenueTiles comparison={comparison} />
            <Section
              title={`Revenue per ${comparison.current.granularity}`}
              actions={
                <DownloadCsvButton
                  path="/revenue"
                  params={{ start: comparison.current.start, end: comparison.current.end, granularity: comparison.current.granularity }}
                  label="revenue"
                />
              }
            >
              {comparison.current.totals.payment_count === 0 ? (
                <p className="state state-empty">No payments in this range.</p>
              ) : (
                <RevenueChart comparison={comparison} />
              )}
            </Section>
          </>
        )}
      </QueryView>
    </div>
  );
}
