import { Tile } from '../../../components/Tile';
import { formatCount } from '../../../lib/dates';
import { changeVsPrevious, formatCents, formatMoney, formatPercentChange, formatSignedCents, parseCents } from '../../../lib/money';
import type { RevenueComparison } from '../api/get-revenue';

/** The range's totals as the API sent them, and the change against the previous period of equal length. */
export function RevenueTiles({ comparison: { current, previous, previousError } }: { comparison: RevenueComparison }) {
  const totals = current.totals;
  let changeValue = 'n/a';
  let changeDetail = previousError ?? '';
  if (previous) {
    const previousCents = parseCents(previous.totals.total_revenue);
    const change = changeVsPrevious(parseCents(totals.total_revenue), previousCents);
    changeValue = formatPercentChange(change);
    changeDetail =
      `${formatSignedCents(change.difference)} against ${formatCents(previousCents)} ` +
      `for ${previous.start} to ${previous.end}`;
  }
  return (
    <div className="tiles">
      <Tile label="Total revenue" value={formatMoney(totals.total_revenue)} testId="kpi-total-revenue" detail={`${current.start} to ${current.end}`} />
      <Tile label="Payments" value={formatCount(totals.payment_count)} testId="kpi-payment-count" />
      <Tile label="Average payment" value={formatMoney(totals.average_payment)} testId="kpi-average-payment" />
      <Tile label="Change against the previous period" value={changeValue} testId="kpi-revenue-change" detail={changeDetail} />
    </div>
  );
}
