import { DownloadCsvButton } from '../../../components/DownloadCsvButton';
import { QueryView } from '../../../components/QueryView';
import { Section } from '../../../components/Section';
import { useMe } from '../../../lib/auth';
import { hasReport } from '../../../lib/reports';
import { useApi } from '../../../lib/use-api';
import { getAging } from '../api/get-receivables';
import { AgingChart } from '../components/AgingChart';
import { OverdueList } from '../components/OverdueList';
import { StatusMix } from '../components/StatusMix';

function AgingSummary() {
  const query = useApi('aging', getAging);
  return (
    <Section title="Accounts receivable aging" actions={<DownloadCsvButton path="/outstanding/aging" label="accounts receivable aging" />}>
      <QueryView query={query} what="the aging summary" isEmpty={(report) => report.totals.invoice_count === 0} empty="No invoices are outstanding.">
        {(report) => (
          <div className="split">
            <div>
              {report.as_of && <p className="note">As of {report.as_of}.</p>}
              <AgingChart report={report} />
            </div>
            <div>
              <h3>By payment status</h3>
              <StatusMix report={report} />
            </div>
          </div>
        )}
      </QueryView>
    </Section>
  );
}

/** Receivables: the aging summary for every role that reads it, the per-invoice list only for roles with `outstanding`. */
export function ReceivablesPage() {
  const me = useMe();
  return (
    <div className="page">
      <h1>Receivables</h1>
      {hasReport(me, 'aging') && <AgingSummary />}
      {hasReport(me, 'outstanding') && <OverdueList />}
    </div>
  );
}
