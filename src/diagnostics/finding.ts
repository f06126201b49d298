/** One diagnosis: what was checked, how it went, why, what shows it, and what to do. */
export interface Finding {
  check: string;
  status: 'pass' | 'warn' | 'fail';
  cause: string;
  evidence: string;
  fix: string;
}

export const pass = (check: string, evidence: string): Finding => ({
  check,
  status: 'pass',
  cause: 'ok',
  evidence,
  fix: '',
});

export const areas = ['config', 'sip', 'calls', 'registration', 'turn', 'webhooks'] as const;
export type Area = (typeof areas)[number];

/** Exit code for a set of findings: 0 all pass, 1 a warning, 2 a failure. */
export function exitCode(findings: Finding[]): number {
  if (findings.some((f) => f.status === 'fail')) return 2;
  return findings.some((f) => f.status === 'warn') ? 1 : 0;
}
