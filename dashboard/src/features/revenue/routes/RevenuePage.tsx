import { useSearchParams } from 'react-router';
import { DownloadCsvButton } from '../../../components/DownloadCsvButton';
import { QueryView } from '../../../components/QueryView';
import { Section } from '../../../components/Section';
import { useApi } from '../../../lib/use-api';
import { GRANULARITIES, getRevenueComparison, type Granularity, type RevenueFilters } from '../api/get-revenue';
import { RevenueChart } from '../components/RevenueChart';
import { RevenueRangeForm } from '../components/RevenueRangeForm';
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

  return (
    <div className="page">
      <h1>Revenue</h1>
      {/* A new address (a link, the back button) starts the form again from it. */}
      <RevenueRangeForm key={search.toString()} filters={filters} shown={shown} onApply={setSearch} />
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
