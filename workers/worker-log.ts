/**
 * The worker's log: one line per event. The SDK logs every failed activity attempt at WARN with
 * the error's whole stack and a dozen context fields, so a retried Kafka or MySQL hiccup
 * (GROUP_LOAD_IN_PROGRESS on a fresh broker, a lock wait retried) read like a crash. Here it is
 * one line: the error's type, code and message, then the activity, its attempt and its workflow.
 * Only an error that looks like a bug in this code (a TypeError and its kin) keeps its stack.
 */
import { formatWithOptions } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';

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
    if (!DROPPED_FIELDS.has(key) && value !== undefined) parts.push(`${key}=${typeof value === 'string' ? value : formatWithOptions({ breakLength: Infinity }, '%o', value)}`);
  }
  const line = parts.join(' ');
  return error instanceof Error && BUG_ERRORS.has(error.name) && error.stack ? `${line}\n${error.stack}` : line;
}

function rank(field: string): number {
  const index = FIRST_FIELDS.indexOf(field);
  return index === -1 ? FIRST_FIELDS.length : index;
}

/** "Type CODE: message", with the innermost cause when there is one, on one line. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const type = error instanceof ApplicationFailure && error.type ? error.type : error.name;
  const fields = error as { code?: unknown; type?: unknown };
  // kafkajs says its protocol error in `type`, mysql2 and Node in `code`.
  const code = [fields.code, error instanceof ApplicationFailure ? undefined : fields.type].find((value): value is string => typeof value === 'string' && value !== type);
  let innermost: Error = error;
  while (innermost.cause instanceof Error) innermost = innermost.cause;
  const cause = innermost === error ? '' : ` (cause: ${innermost.name}: ${innermost.message})`;
  const retry = error instanceof ApplicationFailure && error.nonRetryable ? ' [not retried]' : '';
  return `${type}${code ? ` ${code}` : ''}: ${error.message.replace(/\s*\n\s*/g, ' ')}${cause}${retry}`;
}
