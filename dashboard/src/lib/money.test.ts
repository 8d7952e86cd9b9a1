import { describe, expect, it } from 'vitest';
import {
  changeVsPrevious,
  divideHalfUp,
  formatCents,
  formatMoney,
  formatPercentChange,
  formatSignedCents,
  movingAverageCents,
  parseCents,
  sumCents,
} from './money';

describe('formatMoney', () => {
  it.each([
    ['1234.5', '1,234.50'],
    ['0.10', '0.10'],
    ['0.1', '0.10'],
    ['0', '0.00'],
    ['.5', '0.50'],
    ['12', '12.00'],
    ['999.99', '999.99'],
    ['1000', '1,000.00'],
    ['99999999.99', '99,999,999.99'],
    ['123456789012345678.91', '123,456,789,012,345,678.91'],
    ['-1234.56', '-1,234.56'],
    ['1.005', '1.01'],
    ['1.004', '1.00'],
  ])('formats %s as %s', (amount, expected) => {
    expect(formatMoney(amount)).toBe(expected);
  });

  it('shows a malformed value as sent rather than inventing a number', () => {
    expect(formatMoney('abc')).toBe('abc');
    expect(formatMoney('')).toBe('');
    expect(formatMoney('1.2.3')).toBe('1.2.3');
  });
});

describe('parseCents and formatCents', () => {
  it('round-trips beyond the range of exact floating point', () => {
    expect(formatCents(parseCents('90071992547409.93'))).toBe('90,071,992,547,409.93');
  });

  it('rejects what is not a decimal', () => {
    expect(() => parseCents('1e3')).toThrow(RangeError);
    expect(() => parseCents('.')).toThrow(RangeError);
  });

  it('signs differences', () => {
    expect(formatSignedCents(123450n)).toBe('+1,234.50');
    expect(formatSignedCents(-10n)).toBe('-0.10');
    expect(formatSignedCents(0n)).toBe('0.00');
  });
});

describe('sumCents', () => {
  it('adds ten thousand "0.10" exactly', () => {
    const amounts = Array.from({ length: 10_000 }, () => '0.10');
    expect(sumCents(amounts)).toBe(100_000n);
    expect(formatCents(sumCents(amounts))).toBe('1,000.00');
  });

  it('adds "0.10" and "0.20" to "0.30", which floating point does not', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(formatCents(sumCents(['0.10', '0.20']))).toBe('0.30');
  });
});

describe('divideHalfUp', () => {
  it('rounds halves away from zero', () => {
    expect(divideHalfUp(5n, 2n)).toBe(3n);
    expect(divideHalfUp(-5n, 2n)).toBe(-3n);
    expect(divideHalfUp(7n, 3n)).toBe(2n);
    expect(divideHalfUp(8n, 3n)).toBe(3n);
  });
});

describe('movingAverageCents (7-day)', () => {
  it('averages over the days available at the start of a range', () => {
    // 10.00, 20.00, 30.00: day 1 averages 1 day, day 2 two days, day 3 three days.
    expect(movingAverageCents([1000n, 2000n, 3000n])).toEqual([1000n, 1500n, 2000n]);
  });

  it('uses a full window of seven days once seven are available', () => {
    const days = [100n, 200n, 300n, 400n, 500n, 600n, 700n, 800n];
    const averages = movingAverageCents(days);
    expect(averages[6]).toBe(400n); // (1..7)/7 = 4.00
    expect(averages[7]).toBe(500n); // (2..8)/7 = 5.00
  });

  it('takes the days before the range as the start of the window', () => {
    const before = [700n, 700n, 700n, 700n, 700n, 700n, 9999n].slice(0, 6);
    expect(movingAverageCents([0n], 7, before)).toEqual([600n]); // (6 x 7.00 + 0) / 7
  });

  it('ignores leading days beyond the window', () => {
    expect(movingAverageCents([0n], 7, [999_999n, 700n, 700n, 700n, 700n, 700n, 700n])).toEqual([600n]);
  });

  it('rounds the average half-up to the cent', () => {
    expect(movingAverageCents([1n, 2n])).toEqual([1n, 2n]); // 0.015 -> 0.02
    expect(movingAverageCents([10n, 10n, 11n])).toEqual([10n, 10n, 10n]); // 0.1033 -> 0.10
  });

  it('sums many ten-cent days without drift', () => {
    const days = Array.from({ length: 30 }, () => parseCents('0.10'));
    expect(movingAverageCents(days).every((average) => average === 10n)).toBe(true);
  });
});

describe('changeVsPrevious', () => {
  it('gives the difference and the percentage to a tenth', () => {
    const change = changeVsPrevious(parseCents('110.00'), parseCents('100.00'));
    expect(change.difference).toBe(1000n);
    expect(formatPercentChange(change)).toBe('+10.0%');
  });

  it('shows a fall with a minus sign', () => {
    expect(formatPercentChange(changeVsPrevious(2n, 3n))).toBe('-33.3%');
    expect(formatPercentChange(changeVsPrevious(1n, 3n))).toBe('-66.7%');
  });

  it('shows "n/a" when the previous period had nothing, never Infinity', () => {
    const change = changeVsPrevious(parseCents('50.00'), 0n);
    expect(change.percentTenths).toBeNull();
    expect(formatPercentChange(change)).toBe('n/a');
    expect(formatPercentChange(changeVsPrevious(0n, 0n))).toBe('n/a');
  });

  it('shows no change as 0.0%', () => {
    expect(formatPercentChange(changeVsPrevious(500n, 500n))).toBe('0.0%');
  });

  it('separates thousands of percent', () => {
    expect(formatPercentChange(changeVsPrevious(10_000n, 1n))).toBe('+999,900.0%');
  });
});
