import { DownloadCsvButton } from '../../../components/DownloadCsvButton';
import { QueryView } from '../../../components/QueryView';
import { Section } from '../../../components/Section';
import { useMe } from '../../../lib/auth';
import { hasReport } from '../../../lib/reports';
import { useApi } from '../../../lib/use-api';
import { getDataHealth } from '../api/get-data-health';
import { Freshness } from '../components/Freshness';
import { RecentRuns } from '../components/RecentRuns';

function HealthSummary() {
  const query = useApi('data-health', getDataHealth);
  return (
    <Section title="Freshness and quarantine" actions={<DownloadCsvButton path="/data-health" label="data health" />}>
      <QueryView query={query} what="data health" isEmpty={(health) => health.tables.length === 0} empty="No reporting tables are known yet.">
        {(health) => <Freshness health={health} />}
      </QueryView>
    </Section>
  );
}

/** Data health: freshness of each reporting table, quarantine counts, and the pipeline's recent runs. */
export function DataHealthPage() {
  const me = useMe();
  return (
    <div className="page">
      <h1>Data health</h1>
      {hasReport(me, 'data_health') && <HealthSummary />}
      {hasReport(me, 'etl_runs') && <RecentRuns />}
    </div>
  );
}
