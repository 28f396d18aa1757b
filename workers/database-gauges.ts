/**
 * The gauges only the database (and Temporal) knows: runs awaiting an operator or held by their
 * audit, the published run's customers per category, the time and age of the last publication,
 * paused schedules. Every worker that serves metrics runs this, and exactly one of them exports
 * them: the one holding a MySQL named lock (GET_LOCK, named after the database) on a connection
 * of its own. It says `segmentation_database_exporter 1`; the others say 0, so a sum over the
 * fleet never counts a run twice, and alert rules join on it (docs/monitoring.md).
 *
 * MySQL holds a named lock as long as the session that took it: a worker that stops, crashes or
 * loses its connection lets it go, and another worker takes it at its next refresh. A worker
 * whose lock connection fails says 0 and tries again; a refresh that fails is logged and tried
 * again next time; none of it ever stops the worker.
 *
 * A connection can also drop silently (a firewall's idle cut, a partition: no error, no FIN).
 * So the lock's queries time out (LOCK_QUERY_TIMEOUT_MS: the worker says 0 instead of waiting
 * for an answer that never comes), a failed lock connection is destroyed rather than ended (a
 * QUIT would queue behind the lost query for ever), and the lock's session asks MySQL to drop it
 * after LOCK_SESSION_TIMEOUT_SECONDS of silence, not the 8 hours of MySQL's default wait_timeout,
 * so another worker takes the lock over within a minute or so.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Logger } from '@temporalio/common';
import type { Knex } from 'knex';
import mysql from 'mysql2/promise';
import { mysqlConnectionOptions, type MysqlSettings } from '../lib/config';
import { AuditHeldError } from '../lib/errors';
import type { DatabaseFigures, PipelineMetrics } from '../lib/metrics/pipeline-metrics';
import type { FrequencyCategory } from '../lib/segmentation/frequency-category';
import { TABLES } from '../lib/tables';
import { customerSegmentation } from '../workflows';

/** A lock query not answered by then counts as a lost connection. */
export const LOCK_QUERY_TIMEOUT_MS = 5_000;
/** The lock's session is checked every refresh: MySQL drops it (and the lock) after this much silence. */
export const LOCK_SESSION_TIMEOUT_SECONDS = 60;
/** A goodbye (QUIT) to a server that does not answer is given up after this long. */
const END_TIMEOUT_MS = 2_000;

const CATEGORIES: readonly FrequencyCategory[] = ['Low Frequency', 'High Frequency'];

/** MySQL's named locks are server-wide and at most 64 characters: the database's name scopes this one. */
export function databaseGaugesLockName(database: string): string {
  const name = `segmentation-gauges:${database}`;
  return name.length <= 64 ? name : `segmentation-gauges:${createHash('sha256').update(database).digest('hex').slice(0, 44)}`;
}

export interface DatabaseGaugesOptions {
  /** The worker's pool: the figures are read through it. */
  db: Knex;
  /** The worker's MySQL account: the lock is held on a connection of its own. */
  mysql: MysqlSettings;
  metrics: PipelineMetrics;
  /** The Temporal client, for the schedules. */
  client: () => Client;
  logger: Logger;
  /** Tests shorten it: LOCK_SESSION_TIMEOUT_SECONDS. */
  lockSessionTimeoutSeconds?: number;
}

export interface DatabaseGauges {
  /** One refresh: take (or check) the lock, then, if elected, read and set the figures. */
  refresh(): Promise<void>;
  /** Says 0 and lets the lock go (its connection closed), so another worker takes over at once. */
  stop(): Promise<void>;
}

export function databaseGauges({ db, mysql: settings, metrics, client, logger, lockSessionTimeoutSeconds = LOCK_SESSION_TIMEOUT_SECONDS }: DatabaseGaugesOptions): DatabaseGauges {
  const lockName = databaseGaugesLockName(settings.database);
  let lockConnection: mysql.Connection | undefined;
  /** Undefined before the first refresh, so the first one always says which way it went. */
  let elected: boolean | undefined;
  let stopped = false;
  metrics.databaseExporter(false);

  /** A failed connection is destroyed (its lost query would hold a QUIT back); a live one says goodbye, briefly. */
  const dropLockConnection = async (failed: boolean) => {
    const connection = lockConnection;
    lockConnection = undefined;
    if (!connection) return;
    if (failed) return connection.destroy();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), END_TIMEOUT_MS);
    });
    const ended = await Promise.race([connection.end().then(() => 'ended' as const, () => 'late' as const), late]);
    clearTimeout(timer);
    if (ended === 'late') connection.destroy();
  };

  /** Whether this worker holds the lock now: checked on the lock's own session, or taken if free. */
  const holdsLock = async (): Promise<boolean> => {
    if (!lockConnection) {
      const connection = await mysql.createConnection(mysqlConnectionOptions(settings));
      // A dropped connection fails the next query; without a listener its error event would end the process.
      connection.on('error', () => undefined);
      lockConnection = connection;
      await connection.query({ sql: 'SET SESSION wait_timeout = ?', timeout: LOCK_QUERY_TIMEOUT_MS }, [lockSessionTimeoutSeconds]);
    }
    const [rows] = await lockConnection.query<mysql.RowDataPacket[]>(
      { sql: elected ? 'SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS held' : 'SELECT GET_LOCK(?, 0) AS held', timeout: LOCK_QUERY_TIMEOUT_MS },
      [lockName],
    );
    return Number(rows[0].held) === 1;
  };

  const elect = async (): Promise<boolean> => {
    try {
      return await holdsLock();
    } catch (error) {
      logger.warn('database gauges: the MySQL connection holding their lock failed; trying again at the next refresh', { error: messageOf(error) });
      await dropLockConnection(true);
      return false;
    }
  };

  return {
    async refresh() {
      if (stopped) return;
      const now = await elect();
      if (now !== elected) {
        logger.info(now ? `database gauges: exported by this worker (MySQL lock "${lockName}")` : 'database gauges: another worker exports them; this one takes over if it stops');
      }
      elected = now;
      metrics.databaseExporter(now);
      if (!now) return;
      try {
        const [figures, schedulesPaused] = await Promise.all([
          readDatabaseFigures(db),
          pausedSchedules(client()).catch((error: unknown) => {
            logger.warn('database gauges: could not list the schedules; the next refresh tries again', { error: messageOf(error) });
            return null;
          }),
        ]);
        metrics.databaseFigures({ ...figures, schedulesPaused }, new Date());
      } catch (error) {
        logger.warn('database gauges: could not read them from MySQL; the next refresh tries again', { error: messageOf(error) });
      }
    },
    async stop() {
      stopped = true;
      metrics.databaseExporter(false);
      await dropLockConnection(false);
    },
  };
}

/** What MySQL says now: the runs waiting, the published run's customers, the last publication. */
export async function readDatabaseFigures(db: Knex): Promise<Omit<DatabaseFigures, 'schedulesPaused'>> {
  // A run held by its audit records the audit's error as its own (workflows/run-state.ts failStep: "Type: message").
  const heldError = `${AuditHeldError.type}: %`;
  const [waiting]: Array<{ waiting: number | string; held: number | string | null }> = await db(TABLES.runs)
    .where({ status: 'awaiting-operator' })
    .select(db.raw('COUNT(*) AS waiting'), db.raw('SUM(?? LIKE ?) AS held', ['error', heldError]));
  const publication: PublishedRunCounts | undefined = await db(`${TABLES.publication} as p`)
    .leftJoin(`${TABLES.runs} as r`, 'r.run_id', 'p.run_id')
    .where('p.id', 1)
    .first('p.published_at', 'p.run_id', 'p.history_key', 'r.low_frequency', 'r.high_frequency');
  const held = Number(waiting.held ?? 0);
  return {
    runsAwaitingOperator: Number(waiting.waiting) - held,
    runsHeld: held,
    publishedCustomers: await publishedCustomers(db, publication),
    lastPublication: publication?.published_at ?? null,
  };
}

interface PublishedRunCounts {
  published_at: Date | null;
  run_id: string | null;
  history_key: string | null;
  low_frequency: number | null;
  high_frequency: number | null;
}

/**
 * The published run's customers per category. customer_segments is a view of the run's history
 * (migration 016), so counting it reads the whole run at every refresh (1.6 s at a million customers):
 * the run's record has the counts its reconcile proved equal to those rows. Counted from the view
 * only when the record cannot say: counts not recorded yet, or the published rows set aside while
 * the run itself runs again (history_key is then not the run's own).
 */
async function publishedCustomers(db: Knex, publication: PublishedRunCounts | undefined): Promise<Record<FrequencyCategory, number>> {
  if (publication?.run_id && publication.history_key === publication.run_id && publication.low_frequency !== null && publication.high_frequency !== null) {
    return { 'Low Frequency': Number(publication.low_frequency), 'High Frequency': Number(publication.high_frequency) };
  }
  const byCategory: Array<{ FrequencyCategory: string; customers: number | string }> = await db(TABLES.segments)
    .groupBy('FrequencyCategory')
    .select('FrequencyCategory')
    .count({ customers: '*' });
  return Object.fromEntries(
    CATEGORIES.map((category) => [category, Number(byCategory.find((row) => row.FrequencyCategory === category)?.customers ?? 0)]),
  ) as Record<FrequencyCategory, number>;
}

/** Paused schedules that start this workflow (whatever their task queue: a schedule list does not say it). */
export async function pausedSchedules(client: Client): Promise<number> {
  let paused = 0;
  for await (const summary of client.schedule.list()) {
    if (summary.action?.workflowType === customerSegmentation.name && summary.state.paused) paused += 1;
  }
  return paused;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
