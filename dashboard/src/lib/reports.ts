/** Report names of GET /api/v1/me and the pages that show them. */
export type ReportName = 'revenue' | 'aging' | 'outstanding' | 'payments' | 'data_health' | 'etl_runs' | 'audit';

export interface Me {
  username: string;
  role: string;
  reports: ReportName[];
}

export interface PageInfo {
  path: string;
  label: string;
  /** The page is shown when the role has at least one of these reports. */
  reports: ReportName[];
}

export const PAGES: readonly PageInfo[] = [
  { path: '/revenue', label: 'Revenue', reports: ['revenue'] },
  { path: '/receivables', label: 'Receivables', reports: ['aging', 'outstanding'] },
  { path: '/patient', label: 'Patient', reports: ['payments'] },
  { path: '/data-health', label: 'Data health', reports: ['data_health', 'etl_runs'] },
  { path: '/audit', label: 'Audit', reports: ['audit'] },
];

export function hasReport(me: Me, report: ReportName): boolean {
  return me.reports.includes(report);
}

export function canSee(me: Me, page: PageInfo): boolean {
  return page.reports.some((report) => hasReport(me, report));
}

export function pageByPath(path: string): PageInfo {
  const page = PAGES.find((candidate) => candidate.path === path);
  if (!page) throw new Error(`No page at ${path}.`);
  return page;
}
