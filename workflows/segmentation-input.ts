/**
 * What a person types into the Temporal UI's "Start Workflow" form, e.g.
 * `{"file": "online-retail.xlsx"}`, or what a schedule passes. Every field but the workbook has
 * a default.
 */
import type { ApplicationFailure } from '@temporalio/workflow';
import { msToNumber } from '@temporalio/common/lib/time';
import { AuditSettingProblem, resolveAuditLimits, type AuditInput, type AuditLimits } from '../lib/audit/audit-checks';
import { InvalidInputError } from '../lib/errors';
import { DEFAULT_FREQUENCY_THRESHOLD } from '../lib/segmentation/frequency-category';

export type WorkbookReaderKind = 'fast' | 'exceljs';

export interface SegmentationInput {
  /**
   * Workbook path relative to the worker's DATA_DIR. May name the day it is for, filled from the
   * scheduled time (`exports/online-retail-{date}.xlsx`, `{date-1}` for the day before), and may be
   * a pattern (`exports/*.xlsx`): the newest matching file is read.
   */
  file?: string;
  /** Several workbooks read as one export (instead of `file`). */
  files?: string[];
  /** Worksheet name; by default every sheet with a transactions header, in workbook order. */
  sheet?: string;
  /** Customers with at most this many distinct invoices are Low Frequency. */
  threshold?: number;
  /** Messages per Kafka publish request. */
  chunkSize?: number;
  /** The workbook reader: the project's own (`fast`, default) or exceljs's streaming reader. */
  reader?: WorkbookReaderKind;
  /** How many load activities (one per sheet of each workbook) run at once, at most; the others wait their turn. */
  loadActivities?: number;
  /** How many publish activities share the customers (each sends every n-th CustomerID), on any workers. */
  publishActivities?: number;
  /** How many consume-and-classify activities share the topic's partitions (each takes whole partitions). */
  classifyActivities?: number;
  /** Messages per MySQL transaction when classifying: smaller means shorter transactions and finer restart points. */
  classifyBatchSize?: number;
  /** Attempts of a step (infrastructure errors, with backoff) before the run waits for an operator. */
  maxAttempts?: number;
  /** How long a run whose step failed for good waits for an operator's retry or abort ("24h"; 0: fail at once). */
  operatorWait?: string | number;
  /** IANA time zone of `{date}` in file names (a schedule passes its own). */
  timezone?: string;
  /**
   * The checks before publication, e.g. `{"maxShrinkPercent": 80}` (a check set to "off" is off),
   * or `false` for none; the others keep their defaults (lib/audit/audit-checks.ts).
   */
  audit?: AuditInput;
}

export interface ResolvedInput {
  /** As given: may still hold `{date}` placeholders or patterns, resolved when loading. */
  files: string[];
  sheet: string | null;
  threshold: number;
  chunkSize: number;
  reader: WorkbookReaderKind;
  loadActivities: number;
  publishActivities: number;
  classifyActivities: number;
  classifyBatchSize: number;
  maxAttempts: number;
  operatorWaitMs: number;
  timezone: string;
  /** Each check's limit (null: that check off); null: no audit at all. */
  audit: AuditLimits | null;
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
const MAX_CHUNK_SIZE = 50_000;
const MAX_FILES = 100;
const FIELDS = ['file', 'files', 'sheet', 'threshold', 'chunkSize', 'reader', 'loadActivities', 'publishActivities', 'classifyActivities', 'classifyBatchSize', 'maxAttempts', 'operatorWait', 'timezone', 'audit'];

/** Checks the input and fills in defaults; a wrong field fails the run at once, naming the field. */
export function resolveInput(input: unknown): ResolvedInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid('input', 'must be a JSON object such as {"file": "online-retail.xlsx"}');
  }
  const fields = input as Record<string, unknown>;
  const unknownField = Object.keys(fields).find((field) => !FIELDS.includes(field));
  if (unknownField) throw invalid(unknownField, `is not a known field (${FIELDS.join(', ')})`);
  const { file, files, sheet, reader, operatorWait, timezone } = fields;

  let paths: string[];
  if (file !== undefined && files !== undefined) throw invalid('files', 'cannot be given together with "file"');
  if (files !== undefined) {
    if (!Array.isArray(files) || files.length === 0 || files.length > MAX_FILES) {
      throw invalid('files', `must be a list of 1 to ${MAX_FILES} workbook paths relative to DATA_DIR`);
    }
    paths = files.map((path, i) => workbookPath(`files[${i}]`, path));
  } else {
    paths = [workbookPath('file', file)];
  }
  if (sheet !== undefined && sheet !== null && (typeof sheet !== 'string' || sheet.trim() === '')) {
    throw invalid('sheet', 'must be a worksheet name');
  }
  if (reader !== undefined && reader !== 'fast' && reader !== 'exceljs') throw invalid('reader', 'must be "fast" or "exceljs"');
  if (timezone !== undefined && (typeof timezone !== 'string' || !/^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*$/.test(timezone))) {
    throw invalid('timezone', 'must be an IANA time zone such as "Europe/London"');
  }
  return {
    files: paths,
    sheet: typeof sheet === 'string' ? sheet : null,
    threshold: integerField('threshold', fields.threshold, DEFAULT_FREQUENCY_THRESHOLD, 0, 1_000_000),
    chunkSize: integerField('chunkSize', fields.chunkSize, DEFAULT_CHUNK_SIZE, 1, MAX_CHUNK_SIZE),
    reader: reader ?? 'fast',
    loadActivities: integerField('loadActivities', fields.loadActivities, DEFAULT_LOAD_ACTIVITIES, 1, 64),
    publishActivities: integerField('publishActivities', fields.publishActivities, DEFAULT_PUBLISH_ACTIVITIES, 1, 64),
    classifyActivities: integerField('classifyActivities', fields.classifyActivities, DEFAULT_CLASSIFY_ACTIVITIES, 1, 64),
    classifyBatchSize: integerField('classifyBatchSize', fields.classifyBatchSize, DEFAULT_CLASSIFY_BATCH_SIZE, 1, 100_000),
    maxAttempts: integerField('maxAttempts', fields.maxAttempts, DEFAULT_MAX_ATTEMPTS, 1, 1_000),
    operatorWaitMs: duration('operatorWait', operatorWait ?? DEFAULT_OPERATOR_WAIT),
    timezone: (timezone as string | undefined) ?? 'UTC',
    audit: auditLimits(fields.audit),
  };
}

function auditLimits(value: unknown): AuditLimits | null {
  try {
    return resolveAuditLimits(value);
  } catch (error) {
    if (error instanceof AuditSettingProblem) throw invalid('audit', error.message);
    throw error;
  }
}

function workbookPath(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(field, 'must be a workbook path relative to DATA_DIR');
  return value.trim();
}

function integerField(field: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function duration(field: string, value: unknown): number {
  let ms: number | undefined;
  try {
    ms = typeof value === 'number' || typeof value === 'string' ? msToNumber(value as never) : undefined;
  } catch {
    ms = undefined;
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    throw invalid(field, `must be a duration such as "24h", "30m" or 0, got ${JSON.stringify(value)}`);
  }
  return ms;
}

function invalid(field: string, problem: string): ApplicationFailure {
  return new InvalidInputError(field, problem).toFailure();
}
