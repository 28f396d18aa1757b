/**
 * What a person types into the Temporal UI's "Start Workflow" form, e.g.
 * `{"file": "online-retail.xlsx"}`. Every field but `file` has a default.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { DEFAULT_FREQUENCY_THRESHOLD } from '../lib/segmentation/frequency-category';

export interface SegmentationInput {
  /** Workbook path relative to the worker's DATA_DIR. */
  file: string;
  /** Worksheet name; the first sheet when absent. */
  sheet?: string;
  /** Customers with at most this many distinct invoices are Low Frequency. */
  threshold?: number;
  /** Messages per Kafka publish request. */
  chunkSize?: number;
}

export interface ResolvedInput {
  file: string;
  sheet: string | null;
  threshold: number;
  chunkSize: number;
}

export const DEFAULT_CHUNK_SIZE = 500;
const MAX_CHUNK_SIZE = 10_000;

/** Checks the input and fills in defaults; a wrong field fails the run at once, naming the field. */
export function resolveInput(input: unknown): ResolvedInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid('input', 'must be a JSON object such as {"file": "online-retail.xlsx"}');
  }
  const { file, sheet, threshold, chunkSize, ...unknown } = input as Record<string, unknown>;
  const unknownFields = Object.keys(unknown);
  if (unknownFields.length) throw invalid(unknownFields[0], 'is not a known field (file, sheet, threshold, chunkSize)');
  if (typeof file !== 'string' || file.trim() === '') throw invalid('file', 'must be a workbook path relative to DATA_DIR');
  if (sheet !== undefined && sheet !== null && (typeof sheet !== 'string' || sheet.trim() === '')) {
    throw invalid('sheet', 'must be a worksheet name');
  }
  return {
    file: file.trim(),
    sheet: typeof sheet === 'string' ? sheet : null,
    threshold: integerField('threshold', threshold, DEFAULT_FREQUENCY_THRESHOLD, 0, 1_000_000),
    chunkSize: integerField('chunkSize', chunkSize, DEFAULT_CHUNK_SIZE, 1, MAX_CHUNK_SIZE),
  };
}

function integerField(field: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function invalid(field: string, problem: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'InvalidInputError',
    message: `input field "${field}" ${problem}`,
    nonRetryable: true,
    details: [{ field }],
  });
}
