/**
 * Stand-ins for the activities, under their real names, for tests of the workflow's orchestration
 * alone: each returns a small plausible result at once, touches no server, and counts its calls.
 * A test replaces the ones whose behaviour it is about.
 */
import type { SegmentationActivities } from '../../activities';
import type { NotifyRunInput } from '../../activities/notify-run';
import type { PublishSegmentsInput } from '../../activities/publish-segments';
import { emptyDataQualityReport } from '../../lib/cleaning/data-quality-report';
import type { SegmentationProgress } from '../../workflows/segmentation-progress';

export type ActivityName = keyof SegmentationActivities;

export interface StubActivities {
  activities: SegmentationActivities;
  /** Calls of each activity so far (attempts included). */
  calls: Record<ActivityName, number>;
  /** What recordRunProgress was given, in order. */
  recorded: SegmentationProgress[];
  /** What publishSegments was given, in order. */
  publications: PublishSegmentsInput[];
  /** What notifyRun was given, in order (attempts included). */
  notifications: NotifyRunInput[];
}

const FINGERPRINT = { size: 12_345, mtime: '2026-11-30T08:00:00.000Z', sha256: 'ab'.repeat(32) };

export function stubActivities(overrides: Partial<SegmentationActivities> = {}): StubActivities {
  const recorded: SegmentationProgress[] = [];
  const publications: PublishSegmentsInput[] = [];
  const notifications: NotifyRunInput[] = [];
  const defaults: SegmentationActivities = {
    recordRunStarted: async () => undefined,
    recordRunProgress: async (progress) => {
      recorded.push(structuredClone(progress));
    },
    planLoad: async () => ({
      files: [{ file: 'orders.xlsx', ...FINGERPRINT, sheets: ['Online Retail'] }],
      parts: [{ file: 'orders.xlsx', sheet: 'Online Retail', fingerprint: FINGERPRINT }],
      skippedSheets: [],
    }),
    loadWorkbookPart: async () => ({ ...emptyDataQualityReport(), rowsRead: 12, rowsKept: 10, newestInvoiceDate: '2011-12-09T12:50:00' }),
    aggregatePurchases: async () => ({ customers: 4, purchases: 7 }),
    publishPurchaseCounts: async () => ({ messagesPublished: 4, chunks: 1, ranges: [{ partition: 0, fromOffset: '0', toOffset: '4' }] }),
    classifyCustomers: async () => ({ messagesConsumed: 4 }),
    reconcileRun: async () => ({ customersConsumed: 4, low: 3, high: 1, published: false, rowsWritten: 0 }),
    auditRun: async () => ({ outcome: 'passed', comparedWith: null, checks: [], superseded: false }),
    publishSegments: async (input) => {
      publications.push(input);
      return { outcome: 'published', rowsWritten: 4, replaced: null };
    },
    pruneStaging: async () => ({ runsPruned: [] }),
    notifyRun: async () => ({ posted: false, reason: 'no webhook set' }),
  };
  const calls = Object.fromEntries(Object.keys(defaults).map((name) => [name, 0])) as Record<ActivityName, number>;
  const activities = Object.fromEntries(
    (Object.keys(defaults) as ActivityName[]).map((name) => {
      const body = (overrides[name] ?? defaults[name]) as (...args: unknown[]) => Promise<unknown>;
      const publishing = name === 'publishSegments' && overrides.publishSegments;
      const counted = async (...args: unknown[]) => {
        calls[name] += 1;
        if (publishing) publications.push(args[0] as PublishSegmentsInput);
        if (name === 'notifyRun') notifications.push(structuredClone(args[0] as NotifyRunInput));
        return await body(...args);
      };
      return [name, counted];
    }),
  ) as unknown as SegmentationActivities;
  return { activities, calls, recorded, publications, notifications };
}
