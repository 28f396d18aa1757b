/**
 * The audit between reconciliation and publication ("write, audit, publish"): a run that agrees
 * with itself can still be a bad night (an empty, cut-off or blank export). Its result is compared
 * with the published one before it may replace it; a run that fails a check is held for an
 * operator. One definition of each check: its default, what it means, and how it is judged, read
 * by the workflow input, the CLI flags and the activity alike; the table in docs/guarantees.md
 * follows it.
 *
 * Pure: imported by workflow code.
 */

export interface AuditCheckDefinition {
  /** The limit when the run does not set one. */
  defaultLimit: number;
  /** Whole numbers only (a count of customers), else any number from 0 to 100. */
  integer: boolean;
  /** Only meaningful next to a published run: skipped while nothing is published. */
  compares: boolean;
  /** What exceeding it means, for help texts and docs/guarantees.md. */
  meaning: string;
}

export const AUDIT_CHECKS = {
  minCustomers: {
    defaultLimit: 1,
    integer: true,
    compares: false,
    meaning: 'a run with fewer customers is never published as it is',
  },
  maxShrinkPercent: {
    defaultLimit: 50,
    integer: false,
    compares: true,
    meaning: "the run has fewer customers than (100 - X)% of the published run's",
  },
  maxDroppedPercent: {
    defaultLimit: 50,
    integer: false,
    compares: false,
    meaning: 'the cleaning rules dropped more than X% of the rows read (the real workbook drops 26.6%)',
  },
  maxHighShareShiftPoints: {
    defaultLimit: 15,
    integer: false,
    compares: true,
    meaning: 'the High Frequency share moves by more than X percentage points',
  },
  maxMovedPercent: {
    defaultLimit: 25,
    integer: false,
    compares: true,
    meaning: 'more than X% of the published customers change category',
  },
  maxDaysAhead: {
    defaultLimit: 1,
    integer: false,
    compares: false,
    // Publication follows the data date: one row dated 9999 would otherwise outrank every later night.
    meaning: 'the newest invoice is more than X days after the time the run is for (a mistyped or hostile date)',
  },
} as const satisfies Record<string, AuditCheckDefinition>;

export type AuditCheckName = keyof typeof AUDIT_CHECKS;
export const AUDIT_CHECK_NAMES = Object.keys(AUDIT_CHECKS) as AuditCheckName[];

/** Each check's limit, or null where that check is off; null as a whole: `--no-audit`. */
export type AuditLimits = Record<AuditCheckName, number | null>;

/** What a run's input may say: `false` turns every check off; a check set to "off" (or null) turns that one off. */
export type AuditInput = false | Partial<Record<AuditCheckName, number | 'off' | null>>;

export function defaultAuditLimits(): AuditLimits {
  return Object.fromEntries(AUDIT_CHECK_NAMES.map((name) => [name, AUDIT_CHECKS[name].defaultLimit])) as AuditLimits;
}

/** The input's `audit` field → the limits the run applies; throws a message naming the problem. */
export function resolveAuditLimits(value: unknown): AuditLimits | null {
  if (value === undefined || value === null) return defaultAuditLimits();
  if (value === false) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new AuditSettingProblem(`must be false (no audit) or an object such as {"maxShrinkPercent": 80}`);
  }
  const limits = defaultAuditLimits();
  for (const [name, limit] of Object.entries(value as Record<string, unknown>)) {
    if (!(name in AUDIT_CHECKS)) throw new AuditSettingProblem(`has no check "${name}" (checks: ${AUDIT_CHECK_NAMES.join(', ')})`);
    limits[name as AuditCheckName] = checkLimit(name as AuditCheckName, limit);
  }
  return limits;
}

/** `--audit NAME=VALUE` flags → the input's `audit` object (VALUE may be `off`). */
export function auditInputOfFlags(pairs: readonly string[]): Partial<Record<AuditCheckName, number | 'off'>> {
  const audit: Partial<Record<AuditCheckName, number | 'off'>> = {};
  for (const pair of pairs) {
    const match = /^([A-Za-z]+)=(.+)$/.exec(pair.trim());
    if (!match) throw new AuditSettingProblem(`--audit takes NAME=VALUE, e.g. --audit maxShrinkPercent=80, got "${pair}"`);
    const [, name, text] = match;
    if (!(name in AUDIT_CHECKS)) throw new AuditSettingProblem(`has no check "${name}" (checks: ${AUDIT_CHECK_NAMES.join(', ')})`);
    const limit = text === 'off' ? 'off' : Number(text);
    checkLimit(name as AuditCheckName, limit);
    audit[name as AuditCheckName] = limit;
  }
  return audit;
}

export class AuditSettingProblem extends Error {}

function checkLimit(name: AuditCheckName, limit: unknown): number | null {
  if (limit === 'off' || limit === null) return null;
  const { integer } = AUDIT_CHECKS[name];
  const valid = typeof limit === 'number' && Number.isFinite(limit) && limit >= 0 && (integer ? Number.isInteger(limit) : name === 'maxDaysAhead' || limit <= 100);
  if (!valid) {
    throw new AuditSettingProblem(
      `check "${name}" must be ${integer ? 'a whole number, 0 or more' : name === 'maxDaysAhead' ? 'a number of days, 0 or more' : 'a number from 0 to 100'} or "off", got ${JSON.stringify(limit)}`,
    );
  }
  return limit;
}

/** A run's figures, and the published run's, as the audit compares them. */
export interface AuditFigures {
  customers: number;
  high: number;
  rowsRead: number;
  rowsKept: number;
}

/** This run's side: its figures, its data date, and the time it is for (a schedule's slot, or its start). */
export interface RunFigures extends AuditFigures {
  dataDate: string | null;
  runFor: string;
}

export interface PublishedFigures extends AuditFigures {
  runId: string;
  /** Of the published customers, how many this run puts in the other category. */
  moved: number;
}

export type AuditCheckOutcome = 'passed' | 'failed' | 'skipped' | 'off';

/** One check as it was judged: the figure it measured, against its limit, and the inputs of that figure. */
export interface AuditCheckResult {
  name: AuditCheckName;
  limit: number | null;
  outcome: AuditCheckOutcome;
  /** The figure compared with the limit (customers, a percentage or percentage points), rounded to 0.01. */
  measured: number | null;
  /** The published run's side of the figure, and this run's (null where there is none). */
  published: number | null;
  run: number;
  /** One line saying what was seen, e.g. "68 customers against 4,338 published: 98.43% fewer (limit 50%)". */
  summary: string;
}

export type AuditOutcome = 'passed' | 'held' | 'off';

export interface AuditReport {
  outcome: AuditOutcome;
  /** The run it was compared with: the published one at the time, or null if none was. */
  comparedWith: string | null;
  checks: AuditCheckResult[];
}

const round = (value: number) => Math.round(value * 100) / 100;
const percent = (part: number, whole: number) => (whole === 0 ? 0 : (100 * part) / whole);
const count = (value: number) => value.toLocaleString('en-US');

/** Judges every check; the run is held if any fails. */
export function evaluateAudit(limits: AuditLimits | null, run: RunFigures, published: PublishedFigures | null): AuditReport {
  if (limits === null) return { outcome: 'off', comparedWith: published?.runId ?? null, checks: [] };
  const checks = AUDIT_CHECK_NAMES.map((name) => judge(name, limits[name], run, published));
  return { outcome: checks.some((check) => check.outcome === 'failed') ? 'held' : 'passed', comparedWith: published?.runId ?? null, checks };
}

function judge(name: AuditCheckName, limit: number | null, run: RunFigures, published: PublishedFigures | null): AuditCheckResult {
  const figures = measure(name, run, published);
  const base = { name, limit, ...figures };
  if (limit === null) return { ...base, outcome: 'off', summary: `off; ${figures.summary}` };
  if (AUDIT_CHECKS[name].compares && published === null) return { ...base, measured: null, outcome: 'skipped', summary: 'skipped: nothing is published yet' };
  const failed = name === 'minCustomers' ? figures.measured! < limit : figures.measured! > limit;
  const bound =
    name === 'minCustomers' ? `at least ${count(limit)}` : name === 'maxHighShareShiftPoints' ? `limit ${limit} points` : name === 'maxDaysAhead' ? `limit ${limit} days` : `limit ${limit}%`;
  return { ...base, outcome: failed ? 'failed' : 'passed', summary: `${figures.summary} (${bound})` };
}

function measure(name: AuditCheckName, run: RunFigures, published: PublishedFigures | null): Omit<AuditCheckResult, 'name' | 'limit' | 'outcome'> {
  switch (name) {
    case 'maxDaysAhead': {
      if (run.dataDate === null) return { measured: 0, published: null, run: 0, summary: 'no kept row has an invoice date' };
      // The data date is the workbook's wall-clock time; a day of slack covers any time zone.
      const ahead = round((Date.parse(`${run.dataDate}Z`) - Date.parse(run.runFor)) / 86_400_000);
      return {
        measured: Math.max(0, ahead),
        published: null,
        run: ahead,
        summary: `newest invoice ${run.dataDate.replace('T', ' ')}, ${ahead > 0 ? `${ahead} days after` : 'not after'} the run's time ${run.runFor.slice(0, 16).replace('T', ' ')}`,
      };
    }
    case 'minCustomers':
      return { measured: run.customers, published: published?.customers ?? null, run: run.customers, summary: `${count(run.customers)} customers` };
    case 'maxShrinkPercent': {
      if (!published) return { measured: null, published: null, run: run.customers, summary: `${count(run.customers)} customers` };
      const shrink = round(Math.max(0, 100 - percent(run.customers, published.customers)));
      return {
        measured: shrink,
        published: published.customers,
        run: run.customers,
        summary: `${count(run.customers)} customers against ${count(published.customers)} published: ${shrink}% fewer`,
      };
    }
    case 'maxDroppedPercent': {
      const dropped = round(percent(run.rowsRead - run.rowsKept, run.rowsRead));
      const before = published ? round(percent(published.rowsRead - published.rowsKept, published.rowsRead)) : null;
      return {
        measured: dropped,
        published: before,
        run: dropped,
        summary: `${count(run.rowsRead - run.rowsKept)} of ${count(run.rowsRead)} rows dropped: ${dropped}%${before === null ? '' : ` (published run: ${before}%)`}`,
      };
    }
    case 'maxHighShareShiftPoints': {
      const share = round(percent(run.high, run.customers));
      if (!published) return { measured: null, published: null, run: share, summary: `High Frequency share ${share}%` };
      const before = round(percent(published.high, published.customers));
      const shift = round(Math.abs(percent(run.high, run.customers) - percent(published.high, published.customers)));
      return { measured: shift, published: before, run: share, summary: `High Frequency share ${share}% against ${before}% published: ${shift} points` };
    }
    case 'maxMovedPercent': {
      if (!published) return { measured: null, published: null, run: 0, summary: 'no published customers to compare' };
      const moved = round(percent(published.moved, published.customers));
      return {
        measured: moved,
        published: published.customers,
        run: published.moved,
        summary: `${count(published.moved)} of ${count(published.customers)} published customers change category: ${moved}%`,
      };
    }
  }
}

/** The failed checks, one line each, for the Temporal UI, `segment status` and errors. */
export function describeFailedChecks(report: AuditReport): string[] {
  return report.checks.filter((check) => check.outcome === 'failed').map((check) => `${check.name}: ${check.summary}`);
}
