import { describe, expect, it } from 'vitest';
import { addDays, daysInclusive, formatTimestamp, isIsoDate, previousPeriod } from './dates';

describe('dates', () => {
  it('checks real calendar dates', () => {
    expect(isIsoDate('2026-02-28')).toBe(true);
    expect(isIsoDate('2026-02-30')).toBe(false);
    expect(isIsoDate('2026-2-3')).toBe(false);
  });

  it('adds days across month and year ends', () => {
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
  });

  it('gives the previous period of equal length', () => {
    expect(daysInclusive('2026-03-01', '2026-03-31')).toBe(31);
    expect(previousPeriod('2026-03-01', '2026-03-31')).toEqual({ start: '2026-01-29', end: '2026-02-28' });
    expect(previousPeriod('2026-03-10', '2026-03-10')).toEqual({ start: '2026-03-09', end: '2026-03-09' });
  });

  it('shows timestamps in UTC', () => {
    expect(formatTimestamp('2026-03-20T09:00:00Z')).toBe('2026-03-20 09:00 UTC');
    expect(formatTimestamp(null)).toBe('never');
  });
});
