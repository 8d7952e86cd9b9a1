/**
 * Money arrives from the API as decimal strings ("1234.50"). Everything here works on
 * integer cents held as BigInt and on strings, never on floating point, so a sum of a
 * thousand "0.10" is exactly "100.00" and "99999999.99" prints as it was sent.
 */

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** Parses a decimal string to integer cents; a third decimal and beyond round half-up (away from zero). */
export function parseCents(amount: string): bigint {
  const match = DECIMAL.exec(amount.trim());
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) {
    throw new RangeError(`Not a decimal amount: "${amount}".`);
  }
  const [, sign, whole, fraction = ''] = match;
  let cents = BigInt(whole || '0') * 100n + BigInt((fraction + '00').slice(0, 2));
  if (fraction.length > 2 && fraction[2] >= '5') cents += 1n;
  return sign === '-' ? -cents : cents;
}

/** "123456789" cents -> "1,234,567.89"; negative amounts keep a leading minus. */
export function formatCents(cents: bigint): string {
  const negative = cents < 0n;
  const magnitude = negative ? -cents : cents;
  const whole = (magnitude / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = (magnitude % 100n).toString().padStart(2, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

/** Formats an API amount with two decimals and thousands separators; a malformed value is shown as sent. */
export function formatMoney(amount: string): string {
  try {
    return formatCents(parseCents(amount));
  } catch {
    return amount;
  }
}

/** Formats a signed difference: "+1,234.50", "-0.10", "0.00". */
export function formatSignedCents(cents: bigint): string {
  return cents > 0n ? `+${formatCents(cents)}` : formatCents(cents);
}

export function sumCents(amounts: readonly string[]): bigint {
  return amounts.reduce((total, amount) => total + parseCents(amount), 0n);
}

/** Integer division rounding half away from zero, as the API rounds averages ("half-up"). */
export function divideHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new RangeError('Division by zero.');
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const quotient = (2n * n + d) / (2n * d);
  return negative ? -quotient : quotient;
}

/**
 * Trailing moving average over `window` values, in cents, rounded half-up.
 * `leading` holds the values just before the first one (the days before the range), so the
 * first points can use a full window. Where fewer than `window` values exist up to a point,
 * the average is over the values available: 3 known days average over 3, not over 7.
 */
export function movingAverageCents(
  values: readonly bigint[],
  window = 7,
  leading: readonly bigint[] = [],
): bigint[] {
  const series = [...leading.slice(Math.max(0, leading.length - (window - 1))), ...values];
  const offset = series.length - values.length;
  return values.map((_, index) => {
    const end = offset + index + 1;
    const slice = series.slice(Math.max(0, end - window), end);
    const total = slice.reduce((sum, value) => sum + value, 0n);
    return divideHalfUp(total, BigInt(slice.length));
  });
}

export interface Change {
  difference: bigint;
  /** Change in tenths of a percent against the previous value; null when the previous value is 0. */
  percentTenths: bigint | null;
}

/** Change of a figure (cents or a count) against the previous period of equal length. */
export function changeVsPrevious(current: bigint, previous: bigint): Change {
  const difference = current - previous;
  if (previous === 0n) return { difference, percentTenths: null };
  const base = previous < 0n ? -previous : previous;
  return { difference, percentTenths: divideHalfUp(difference * 1000n, base) };
}

/** "+12.3%", "-4.0%", "0.0%", or "n/a" when there is nothing to compare with. */
export function formatPercentChange(change: Change): string {
  const tenths = change.percentTenths;
  if (tenths === null) return 'n/a';
  const magnitude = tenths < 0n ? -tenths : tenths;
  const sign = tenths > 0n ? '+' : tenths < 0n ? '-' : '';
  const whole = (magnitude / 10n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${whole}.${magnitude % 10n}%`;
}

/** Cents as a plain number for chart geometry only (bar heights); labels use formatCents. */
export function centsToChartValue(cents: bigint): number {
  return Number(cents) / 100;
}
