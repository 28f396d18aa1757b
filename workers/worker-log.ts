/**
 * The worker's log: one line per event. The SDK logs every failed activity attempt at WARN with
 * the error's whole stack and a dozen context fields, so a retried Kafka or MySQL hiccup
 * (GROUP_LOAD_IN_PROGRESS on a fresh broker, a lock wait retried) read like a crash. Here it is
 * one line: the error's type, code and message, then the activity, its attempt and its workflow.
 * Only an error that looks like a bug in this code (a TypeError and its kin) keeps its stack.
 */
import { formatWithOptions, inspect } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';
import { SegmentationError } from '../lib/errors';

/** Errors no retry mends and no operator caused: their stack is what a developer needs. */
const BUG_ERRORS = new Set(['TypeError', 'ReferenceError', 'RangeError', 'SyntaxError', 'AssertionError']);

/** Context the SDK adds that says nothing to an operator (the task token is an opaque blob). */
const DROPPED_FIELDS = new Set(['taskToken', 'sdkComponent', 'isLocal']);
/** What an operator reads first: which activity, which attempt, which run. */
const FIRST_FIELDS = ['activityType', 'attempt', 'workflowId'];

export function oneLineLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): DefaultLogger {
  return new DefaultLogger(level, (entry) => write(`${formatLogEntry(entry)}\n`));
}

export function formatLogEntry({ level, message, meta, timestampNanos }: LogEntry): string {
  const time = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
  const { error, ...context } = meta ?? {};
  const parts = [`${time} [${level}] ${message}`];
  if (error !== undefined) parts[0] += `: ${describeError(error)}`;
  const fields = Object.entries(context).sort(([a], [b]) => rank(a) - rank(b));
  for (const [key, value] of fields) {
    if (DROPPED_FIELDS.has(key) || value === undefined) continue;
    // An Error elsewhere than `error` would print its stack over many lines.
    const shown = typeof value === 'string' ? value : isErrorLike(value) ? describeError(value) : formatWithOptions({ breakLength: Infinity }, '%o', value);
    parts.push(`${key}=${cut(shown)}`);
  }
  const line = parts.join(' ');
  return error instanceof Error && BUG_ERRORS.has(error.name) && error.stack ? `${line}\n${error.stack}` : line;
}

function rank(field: string): number {
  const index = FIRST_FIELDS.indexOf(field);
  return index === -1 ? FIRST_FIELDS.length : index;
}

/** A described error or field is cut to this many characters: a message may quote a whole payload. */
const MAX_CHARS = 2_000;
/** Causes named at most: a chain that long (or a cycle) says nothing more. */
const MAX_CAUSES = 5;

/**
 * "Type CODE: message", then every cause on the same line, cut to MAX_CHARS. A thrown value that
 * is no Error (a plain object, a string) is shown as it is; an AggregateError (Node's connect to
 * a host of two addresses) names its errors.
 */
export function describeError(error: unknown): string {
  const causes: string[] = [];
  for (let cause = causeOf(error); cause !== undefined && causes.length < MAX_CAUSES; cause = causeOf(cause)) causes.push(describeOne(cause));
  const retry = isNotRetried(error) ? ' [not retried]' : '';
  return cut(`${describeOne(error)}${causes.length ? ` (cause: ${causes.join('; cause: ')})` : ''}${retry}`);
}

/** A failure Temporal will not retry: marked so, or of a class the failure policy (lib/errors.ts) never retries. */
function isNotRetried(error: unknown): boolean {
  if (error instanceof ApplicationFailure) return error.nonRetryable === true;
  return error instanceof SegmentationError && !(error.constructor as typeof SegmentationError).retryable;
}

function describeOne(error: unknown): string {
  if (!isErrorLike(error)) return typeof error === 'string' ? oneLine(error) : inspect(error, { breakLength: Infinity, depth: 2 });
  const type = error instanceof ApplicationFailure && error.type ? error.type : error.name;
  const fields = error as { code?: unknown; type?: unknown; errors?: unknown };
  const inner = Array.isArray(fields.errors) ? fields.errors.map((each) => (isErrorLike(each) ? each.message : String(each))) : [];
  const message = oneLine([error.message, ...inner].filter((part) => part !== '').join('; '));
  // kafkajs says its protocol error in `type`, mysql2 and Node in `code`; not repeated when the message says it.
  const code = [fields.code, error instanceof ApplicationFailure ? undefined : fields.type].find(
    (value): value is string => typeof value === 'string' && value !== type && !message.includes(value),
  );
  return `${type}${code ? ` ${code}` : ''}: ${message}`;
}

/** An Error by its shape: one from another realm (a vm context, Node's own fetch) is no `instanceof Error`. */
function isErrorLike(value: unknown): value is Error {
  return typeof value === 'object' && value !== null && typeof (value as Error).name === 'string' && typeof (value as Error).message === 'string';
}

function causeOf(error: unknown): unknown {
  return isErrorLike(error) ? error.cause : undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

function cut(text: string): string {
  return text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}… (${text.length - MAX_CHARS} more characters)` : text;
}
