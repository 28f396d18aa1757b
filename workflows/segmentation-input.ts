/**
 * What a person types into the Temporal UI's "Start Workflow" form, e.g.
 * `{"file": "online-retail.xlsx"}`, or what a schedule passes. Every field but the workbook has
 * a default.
 *
 * The one definition of each input field: its zod schema (which gives the type, the validation
 * and its messages, the default and the limits), its line of the field table in
 * docs/configuration.md (`npm run docs:input`), and its flag of `segment run` and
 * `segment schedule create|update` (cli/input-flags.ts). The `audit` field's checks are defined
 * in lib/audit/audit-checks.ts.
 *
 * Pure: runs inside the workflow sandbox (zod has no Node APIs and no clock or randomness).
 */
import type { ApplicationFailure } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { z } from 'zod';
import { AUDIT_CHECK_NAMES, AuditSettingProblem, resolveAuditLimits, type AuditInput } from '../lib/audit/audit-checks';
import { InvalidInputError } from '../lib/errors';
import { DEFAULT_FREQUENCY_THRESHOLD } from '../lib/segmentation/frequency-category';
import { WORKBOOK_READER_KINDS } from '../lib/workbook/workbook-source';

/** How a field reads in the field table of docs/configuration.md. */
export interface InputFieldDocs {
  /** The default as the table shows it ('' for none). */
  default: string;
  /** The values it takes. */
  values: string;
  meaning: string;
}

/**
 * A field's flag on `segment run` or `segment schedule create|update`. The flag's name, in
 * camelCase, is the field's name (`--chunk-size` sets `chunkSize`).
 */
export interface InputFlag {
  /** In commander's syntax, e.g. `--chunk-size <n>`. */
  flag: string;
  /**
   * The help line; a function of what the command does with it (e.g. "to read each night") where
   * that differs. None for `audit`: its flags and their help are the audit checks' own.
   */
  help?: string | ((purpose: string) => string);
  /**
   * How the flag's text becomes the field's value: as it is; a path made relative to DATA_DIR;
   * several workbook paths (`file` or `files`); a whole number; a duration (`24h`, or digits for milliseconds); one of the readers.
   * The `audit` flags are the audit checks' own (cli/audit-flags.ts).
   */
  value: 'text' | 'path' | 'paths' | 'whole-number' | 'duration' | 'reader' | 'audit';
  /** The command refuses to start without it. */
  required?: boolean;
}

export interface InputField {
  schema: z.ZodType;
  docs: InputFieldDocs;
  flags: { run?: InputFlag; schedule?: InputFlag };
}

export const DEFAULT_CHUNK_SIZE = 2_000;
/**
 * Load activities one run has in flight at most: each takes a worker's activity slot (two per
 * worker), and a workflow task that scheduled thousands at once would be refused by the server.
 */
export const DEFAULT_LOAD_ACTIVITIES = 8;
export const DEFAULT_PUBLISH_ACTIVITIES = 2;
export const DEFAULT_CLASSIFY_ACTIVITIES = 2;
export const DEFAULT_CLASSIFY_BATCH_SIZE = 5_000;
/** With backoff from 1 s doubling to a 1-minute ceiling, 20 attempts ride out about 15 minutes of outage. */
export const DEFAULT_MAX_ATTEMPTS = 20;
export const DEFAULT_OPERATOR_WAIT = '24h';
const DEFAULT_TIMEZONE = 'UTC';
const MAX_FILES = 100;
/** The files are the whole history, or new transactions merged into the invoice ledger. */
export const RUN_MODES = ['snapshot', 'append'] as const;
export type RunMode = (typeof RUN_MODES)[number];
/** `all`, or days or months counted back from the run's data date (lib/aggregation/invoice-window.ts). */
const WINDOW = /^(?:all|[1-9]\d{0,4}[dm])$/;
const MAX_WINDOW = { d: 36_600, m: 1_200 };
const WINDOW_PROBLEM = 'must be "all" or a length such as "90d" or "12m" (days or months, at most 100 years)';
const TIME_ZONE = /^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*$/;

// Each helper below makes one kind of field; its message is what follows `input field "NAME" `.

const WORKBOOK_PATH_PROBLEM = 'must be a workbook path relative to DATA_DIR';

/** A workbook path relative to DATA_DIR, trimmed; never blank. */
const workbookPath = () => z.string({ error: WORKBOOK_PATH_PROBLEM }).trim().min(1, { error: WORKBOOK_PATH_PROBLEM });

/** A whole number from min to max; null or absent: the default. */
function wholeNumber(fallback: number, min: number, max: number) {
  const error = (issue: { input?: unknown }) => `must be a whole number from ${min} to ${max}, got ${JSON.stringify(issue.input)}`;
  return z
    .number({ error })
    .int({ error })
    .min(min, { error })
    .max(max, { error })
    .nullish()
    .transform((value) => value ?? fallback);
}

const wholeNumberValues = (min: number, max: number) => `whole number, ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`;

const MAX_DURATION_MS = 365 * 24 * 60 * 60 * 1000;

/** A duration ("24h", "30m", or milliseconds as a number, at most 365 days) → milliseconds; null or absent: the default. */
function duration(fallback: string) {
  const problem = (value: unknown) => `must be a duration such as "24h", "30m" or 0, got ${JSON.stringify(value)}`;
  return z
    .union([z.string(), z.number()], { error: (issue) => problem(issue.input) })
    .nullish()
    .transform((value, context) => {
      const given = value ?? fallback;
      let ms: number | undefined;
      try {
        ms = msToNumber(given as never);
      } catch {
        ms = undefined;
      }
      if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
        context.addIssue({ code: 'custom', message: problem(given), input: given });
        return z.NEVER;
      }
      // A wait past any date the run can write down ("300000y") would fail every workflow task
      // that tries: refused here, with a bound no operator needs to exceed.
      if (ms > MAX_DURATION_MS) {
        context.addIssue({ code: 'custom', message: `must be at most 365 days, got ${JSON.stringify(given)}`, input: given });
        return z.NEVER;
      }
      return ms;
    });
}

/** The audit checks' limits (lib/audit/audit-checks.ts owns the checks and their messages). */
const auditLimits = () =>
  z
    .custom<AuditInput | null>()
    .optional()
    .transform((value, context) => {
      try {
        return resolveAuditLimits(value);
      } catch (error) {
        if (!(error instanceof AuditSettingProblem)) throw error;
        context.addIssue({ code: 'custom', message: error.message, input: value });
        return z.NEVER;
      }
    });

const MODE_HELP = 'snapshot (default): the files are the whole history; append: new transactions merged into the invoice ledger';
const AS_OF_PROBLEM = 'must be a date such as "2011-12-10" (YYYY-MM-DD)';
const RFM_RULES_HELP = 'RFM segment map inside DATA_DIR (default: rules/rfm-segments.json)';
const WINDOW_HELP = 'all (default), or e.g. 90d or 12m: only invoices of that many days or months up to the data date count';
const SHEET_HELP = 'worksheet (default: every sheet with a transactions header)';
const THRESHOLD_HELP = 'Low Frequency is at most this many invoices';
const AUDIT_FLAG: InputFlag = { flag: '--audit <NAME=VALUE>', value: 'audit' };

/** The fields, in the order the "not a known field" message and the field table list them. */
export const INPUT_FIELDS = {
  file: {
    schema: workbookPath().optional(),
    docs: {
      default: '(required, or `files`)',
      values: 'a path',
      meaning:
        'workbook (`.xlsx`) or CSV export (`.csv`, `.csv.gz`) path relative to `DATA_DIR`; `{date}` (or `{date-1}`, the day before; `{date-7}`, a week before) is filled from the ' +
        "run's scheduled day in `timezone`; `*` (at most twice) and `?` in the file name pick the newest matching file inside `DATA_DIR`",
    },
    flags: {
      // One --file sets `file`, several set `files`.
      run: {
        flag: '--file <path...>',
        help: 'workbook (absolute, or relative to the current folder), inside DATA_DIR; several are read as one export',
        value: 'paths',
      },
      schedule: {
        flag: '--file <path...>',
        help: (purpose) =>
          `workbook inside DATA_DIR ${purpose}; may hold {date} (the day of the run, YYYY-MM-DD in --timezone), {date-1}, and * or ? in the file name (the newest match)`,
        value: 'paths',
      },
    },
  },
  files: {
    schema: z
      .array(workbookPath(), { error: `must be a list of 1 to ${MAX_FILES} workbook paths relative to DATA_DIR` })
      .min(1, { error: `must be a list of 1 to ${MAX_FILES} workbook paths relative to DATA_DIR` })
      .max(MAX_FILES, { error: `must be a list of 1 to ${MAX_FILES} workbook paths relative to DATA_DIR` })
      .optional(),
    docs: { default: '', values: `1 to ${MAX_FILES} paths`, meaning: 'several workbooks read as one export, e.g. `["2010.xlsx", "2011.xlsx"]`' },
    flags: {},
  },
  mode: {
    schema: z
      .enum(RUN_MODES, { error: 'must be "snapshot" or "append"' })
      .optional()
      .transform((mode) => mode ?? 'snapshot'),
    docs: {
      default: '`"snapshot"`',
      values: '`"snapshot"`, `"append"`',
      meaning:
        '`snapshot`: the files are the whole history; `append`: they hold new transactions, merged into the invoice ledger when the run publishes ' +
        '(the files may then be left out: the run re-applies `window`; see [nightly exports](../README.md#nightly-exports-full-or-delta))',
    },
    flags: { run: { flag: '--mode <mode>', help: MODE_HELP, value: 'text' }, schedule: { flag: '--mode <mode>', help: MODE_HELP, value: 'text' } },
  },
  window: {
    schema: z
      .string({ error: WINDOW_PROBLEM })
      .trim()
      .regex(WINDOW, { error: WINDOW_PROBLEM })
      .refine((text) => text === 'all' || Number(text.slice(0, -1)) <= MAX_WINDOW[text.slice(-1) as 'd' | 'm'], { error: WINDOW_PROBLEM })
      .optional()
      .transform((text) => text ?? 'all'),
    docs: {
      default: '`"all"`',
      values: '`"all"`, or days or months such as `"90d"`, `"12m"`',
      meaning: "only invoices of the last so many days or months up to the run's data date count; customers with none leave `customer_segments`",
    },
    flags: { run: { flag: '--window <length>', help: WINDOW_HELP, value: 'text' }, schedule: { flag: '--window <length>', help: WINDOW_HELP, value: 'text' } },
  },
  sheet: {
    schema: z
      .string({ error: 'must be a worksheet name' })
      .refine((name) => name.trim() !== '', { error: 'must be a worksheet name' })
      .nullish()
      .transform((name) => name ?? null),
    docs: { default: 'every transactions sheet', values: 'a sheet name', meaning: 'read only this sheet (a CSV export is one sheet, `CSV`)' },
    flags: { run: { flag: '--sheet <name>', help: SHEET_HELP, value: 'text' }, schedule: { flag: '--sheet <name>', help: SHEET_HELP, value: 'text' } },
  },
  threshold: {
    schema: wholeNumber(DEFAULT_FREQUENCY_THRESHOLD, 0, 1_000_000),
    docs: { default: String(DEFAULT_FREQUENCY_THRESHOLD), values: wholeNumberValues(0, 1_000_000), meaning: 'at most this many distinct invoices is Low Frequency' },
    flags: {
      run: { flag: '--threshold <n>', help: THRESHOLD_HELP, value: 'whole-number' },
      schedule: { flag: '--threshold <n>', help: THRESHOLD_HELP, value: 'whole-number' },
    },
  },
  asOf: {
    schema: z
      .string({ error: AS_OF_PROBLEM })
      .regex(/^\d{4}-\d{2}-\d{2}$/, { error: AS_OF_PROBLEM })
      .refine((day) => !Number.isNaN(Date.parse(`${day}T00:00:00Z`)) && new Date(`${day}T00:00:00Z`).toISOString().startsWith(day), { error: AS_OF_PROBLEM })
      .nullish()
      .transform((day) => day ?? null),
    docs: {
      default: "the day after the run's data date",
      values: 'a date, `"YYYY-MM-DD"`',
      meaning: 'the day RecencyDays counts to (see [RFM segments](../README.md#rfm-segments)); not before the newest invoice that counts',
    },
    flags: { run: { flag: '--as-of <date>', help: "the day RecencyDays counts to, YYYY-MM-DD (default: the day after the data date)", value: 'text' } },
  },
  rfmRules: {
    schema: z
      .string({ error: 'must be a rules file path relative to DATA_DIR' })
      .trim()
      .min(1, { error: 'must be a rules file path relative to DATA_DIR' })
      .nullish()
      .transform((file) => file ?? null),
    docs: {
      default: 'the repository\'s [`rules/rfm-segments.json`](../rules/rfm-segments.json)',
      values: 'a path',
      meaning: 'JSON file in `DATA_DIR` mapping every pair of recency and frequency scores to one named segment, like the default',
    },
    flags: {
      run: { flag: '--rfm-rules <path>', help: RFM_RULES_HELP, value: 'path' },
      schedule: { flag: '--rfm-rules <path>', help: RFM_RULES_HELP, value: 'path' },
    },
  },
  chunkSize: {
    schema: wholeNumber(DEFAULT_CHUNK_SIZE, 1, 50_000),
    docs: { default: String(DEFAULT_CHUNK_SIZE), values: wholeNumberValues(1, 50_000), meaning: 'messages per Kafka publish request' },
    flags: { run: { flag: '--chunk-size <n>', help: 'messages per Kafka publish request', value: 'whole-number' } },
  },
  reader: {
    schema: z
      .enum(WORKBOOK_READER_KINDS, { error: 'must be "fast" or "exceljs"' })
      .optional()
      .transform((reader) => reader ?? 'fast'),
    docs: { default: '`"fast"`', values: WORKBOOK_READER_KINDS.map((kind) => `\`"${kind}"\``).join(', '), meaning: '`exceljs` reads workbooks with exceljs instead (slower; a second opinion); CSV exports always use the CSV reader' },
    flags: { run: { flag: '--reader <reader>', help: 'workbook parser: fast (default) or exceljs (slower, a second opinion)', value: 'reader' } },
  },
  loadActivities: {
    schema: wholeNumber(DEFAULT_LOAD_ACTIVITIES, 1, 64),
    docs: {
      default: String(DEFAULT_LOAD_ACTIVITIES),
      values: wholeNumberValues(1, 64),
      meaning: 'load activities (one per sheet of each workbook) in flight at once, at most; the others wait their turn',
    },
    flags: {},
  },
  publishActivities: {
    schema: wholeNumber(DEFAULT_PUBLISH_ACTIVITIES, 1, 64),
    docs: {
      default: String(DEFAULT_PUBLISH_ACTIVITIES),
      values: wholeNumberValues(1, 64),
      meaning: 'publish activities sharing the customers (each sends every n-th CustomerID), on any workers',
    },
    flags: { run: { flag: '--publish-activities <n>', help: 'publish activities sharing the customers', value: 'whole-number' } },
  },
  classifyActivities: {
    schema: wholeNumber(DEFAULT_CLASSIFY_ACTIVITIES, 1, 64),
    docs: {
      default: String(DEFAULT_CLASSIFY_ACTIVITIES),
      values: wholeNumberValues(1, 64),
      meaning: "consume-and-classify activities sharing the topic's partitions (each takes whole partitions), on any workers",
    },
    flags: { run: { flag: '--classify-activities <n>', help: 'consume-and-classify activities sharing the partitions', value: 'whole-number' } },
  },
  classifyBatchSize: {
    schema: wholeNumber(DEFAULT_CLASSIFY_BATCH_SIZE, 1, 100_000),
    docs: {
      default: String(DEFAULT_CLASSIFY_BATCH_SIZE),
      values: wholeNumberValues(1, 100_000),
      meaning: 'messages per MySQL transaction when classifying: smaller means shorter transactions and finer restart points',
    },
    flags: { run: { flag: '--classify-batch-size <n>', help: 'messages per MySQL transaction when classifying', value: 'whole-number' } },
  },
  maxAttempts: {
    schema: wholeNumber(DEFAULT_MAX_ATTEMPTS, 1, 1_000),
    docs: {
      default: String(DEFAULT_MAX_ATTEMPTS),
      values: wholeNumberValues(1, 1_000),
      meaning: 'attempts of a step (1 s backoff doubling to 1 min: about 15 minutes of outage) before the run waits for an operator',
    },
    flags: { run: { flag: '--max-attempts <n>', help: 'attempts per step before the run waits for an operator', value: 'whole-number' } },
  },
  operatorWait: {
    schema: duration(DEFAULT_OPERATOR_WAIT),
    docs: {
      default: `\`"${DEFAULT_OPERATOR_WAIT}"\``,
      values: 'a duration such as `"24h"` or `"30m"`, or milliseconds; at most 365 days',
      meaning: 'how long a run whose step failed for good waits for `retry` or `abort`; `0` fails at once',
    },
    flags: {
      run: { flag: '--operator-wait <duration>', help: 'how long a failed run waits for retry or abort, e.g. 24h; 0 fails at once', value: 'duration' },
      schedule: {
        flag: '--operator-wait <duration>',
        help: 'how long a run whose step failed waits for `segment retry` or `abort` (default 12h)',
        value: 'duration',
      },
    },
  },
  timezone: {
    schema: z
      .string({ error: 'must be an IANA time zone such as "Europe/London"' })
      .regex(TIME_ZONE, { error: 'must be an IANA time zone such as "Europe/London"' })
      .optional()
      .transform((zone) => zone ?? DEFAULT_TIMEZONE),
    docs: {
      default: `\`"${DEFAULT_TIMEZONE}"\` (a schedule passes its own)`,
      values: 'an IANA time zone such as `"Europe/London"`',
      meaning: 'IANA time zone of `{date}` in file names',
    },
    // On a schedule it is the schedule's time zone too, checked there (cli/commands/schedule.ts).
    flags: { schedule: { flag: '--timezone <iana>', help: 'time zone of --cron and of {date} (default UTC), e.g. Europe/London', value: 'text' } },
  },
  audit: {
    schema: auditLimits(),
    docs: {
      default: 'every check at its default',
      values: `\`false\`, or an object of checks (${AUDIT_CHECK_NAMES.map((name) => `\`${name}\``).join(', ')})`,
      meaning:
        'the checks before publication, e.g. `{"maxShrinkPercent": 80, "maxMovedPercent": "off"}` (a check left out keeps its default); ' +
        '`false`: none (see [the audit](guarantees.md#the-audit-holds-a-bad-night))',
    },
    flags: { run: AUDIT_FLAG, schedule: AUDIT_FLAG },
  },
} satisfies Record<string, InputField>;

export type InputFieldName = keyof typeof INPUT_FIELDS;
export const INPUT_FIELD_NAMES = Object.keys(INPUT_FIELDS) as InputFieldName[];

type InputShape = { [Name in InputFieldName]: (typeof INPUT_FIELDS)[Name]['schema'] };
const shape = Object.fromEntries(INPUT_FIELD_NAMES.map((name) => [name, INPUT_FIELDS[name].schema])) as InputShape;

/** Marks the issue of the rule that spans fields (one of `file` and `files`): it is reported before any single field's. */
const ACROSS_FIELDS = 'across-fields';

export const segmentationInputSchema = z
  .strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `is not a known field (${INPUT_FIELD_NAMES.join(', ')})`
        : 'must be a JSON object such as {"file": "online-retail.xlsx"}',
  })
  .superRefine(
    (input, context) => {
      if (typeof input !== 'object' || input === null) return;
      const { file, files, mode } = input as Record<string, unknown>;
      if (file !== undefined && files !== undefined) {
        context.addIssue({ code: 'custom', path: ['files'], message: 'cannot be given together with "file"', params: { rule: ACROSS_FIELDS } });
      } else if (file === undefined && files === undefined && mode !== 'append') {
        // Only an append run may read nothing: it re-applies its window to the ledger.
        context.addIssue({ code: 'custom', path: ['file'], message: WORKBOOK_PATH_PROBLEM, params: { rule: ACROSS_FIELDS } });
      }
    },
    // Runs even when a field is wrong, so that this rule is the one named whatever else is wrong.
    { when: () => true },
  )
  .transform((input) => ({
    /** As given: may still hold `{date}` placeholders or patterns, resolved when loading. */
    files: input.files ?? (input.file === undefined ? [] : [input.file]),
    mode: input.mode,
    window: input.window,
    sheet: input.sheet,
    threshold: input.threshold,
    /** The day RecencyDays counts to; null: the day after the data date. */
    asOf: input.asOf,
    /** The RFM segment map's path in DATA_DIR; null: the repository's. */
    rfmRules: input.rfmRules,
    chunkSize: input.chunkSize,
    reader: input.reader,
    loadActivities: input.loadActivities,
    publishActivities: input.publishActivities,
    classifyActivities: input.classifyActivities,
    classifyBatchSize: input.classifyBatchSize,
    maxAttempts: input.maxAttempts,
    operatorWaitMs: input.operatorWait,
    timezone: input.timezone,
    /** Each check's limit (null: that check off); null: no audit at all. */
    audit: input.audit,
  }));

/** What a run may be given. */
export type SegmentationInput = z.input<typeof segmentationInputSchema>;
/** The input checked, with every default filled in. */
export type ResolvedInput = z.output<typeof segmentationInputSchema>;

/** Checks the input and fills in defaults; a wrong field fails the run at once, naming the field. */
export function resolveInput(input: unknown): ResolvedInput {
  const result = segmentationInputSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = firstIssue(result.error.issues);
  throw invalid(fieldOf(issue), issue.message);
}

/**
 * The one problem a failed run names, when there are several: the input not being an object,
 * then an unknown field, then the `file`/`files` rule, then the fields in table order.
 */
function firstIssue(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue {
  const rank = (issue: z.core.$ZodIssue) => {
    if (issue.path.length === 0) return issue.code === 'unrecognized_keys' ? 1 : 0;
    if (issue.code === 'custom' && issue.params?.rule === ACROSS_FIELDS) return 2;
    return 3 + INPUT_FIELD_NAMES.indexOf(issue.path[0] as InputFieldName);
  };
  return [...issues].sort((a, b) => rank(a) - rank(b))[0];
}

/** `input`, `threshold`, `files[2]`, or the first unknown field. */
function fieldOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return issue.keys[0];
  if (issue.path.length === 0) return 'input';
  return issue.path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`)).join('');
}

function invalid(field: string, problem: string): ApplicationFailure {
  return new InvalidInputError(field, problem).toFailure();
}
