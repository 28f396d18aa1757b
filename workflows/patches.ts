/**
 * The workflow's patch ids (`patched(...)`), oldest change first. Each marks a change of the
 * commands the workflow sends: runs started before it replay the old way, so a patch's check must
 * stay exactly where it is, and its id must never change.
 */

/** The patch that made publish fan out (`publishActivities`); older histories have one publish activity. */
export const PUBLISH_IN_SLICES = 'publish-in-slices';
/** The patch that put the audit and a publication step of its own after reconcile; older histories publish in reconcile. */
export const AUDIT_BEFORE_PUBLICATION = 'audit-before-publication';
/** The patch that capped load activities in flight (`loadActivities`); older histories started one per sheet at once. */
export const LOAD_IN_TURNS = 'load-in-turns';
/** The patch that stops a step whose record failed; older histories leave its activities running. */
export const RUN_RECORD_SEQUENCE = 'run-record-sequence';
/**
 * Published, consumed and written disagree: reconciling again cannot change that, publishing and
 * consuming again can. Histories from before this patch retried reconcile, and replay so.
 */
export const RECONCILE_RETRIES_FROM_PUBLISH = 'reconcile-retries-from-publish';
/** The patch that lets an accepted decision win over the operator-wait timer firing in the same activation. */
export const DECISION_WINS_OVER_TIMER = 'decision-wins-over-timer';
/**
 * The patch that notifies NOTIFY_WEBHOOK_URL (workflows/run-notifications.ts) when the run starts
 * waiting for an operator, when it fails, and after it is published; older histories notify nothing.
 */
export const NOTIFY_WEBHOOK = 'notify-webhook';
