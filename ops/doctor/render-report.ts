import type { DoctorReport } from './check.js';

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

/** The human form of a report: one line per check, each failure followed by its fix, indented. */
export function renderDoctorReport(report: DoctorReport): string {
  const lines: string[] = [];
  for (const check of report.checks) {
    lines.push(`${MARK[check.status]}  ${check.id.padEnd(30)} ${check.summary}`);
    if (check.fix && check.status !== 'ok') for (const line of check.fix.split('\n')) lines.push(`        ${line}`);
  }
  if (report.captureUserSql) {
    lines.push('', 'The least-privilege capture user (docs/source-prerequisites.md):', '');
    for (const line of report.captureUserSql.split('\n')) lines.push(`    ${line}`);
  }
  const failures = report.checks.filter((c) => c.status === 'fail').length;
  const warnings = report.checks.filter((c) => c.status === 'warn').length;
  lines.push('', report.ok ? `All prerequisites met${warnings ? ` (${warnings} warning${warnings > 1 ? 's' : ''})` : ''}.` : `${failures} check${failures > 1 ? 's' : ''} failed.`);
  return lines.join('\n') + '\n';
}
