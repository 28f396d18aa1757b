/**
 * Runs you can trust:
 * - A run is keyed by its first execution's run id (it survives resets and is never reused), no
 *   longer by its workflow id, which a person can type again; `workflow_id` is kept beside it.
 * - Statuses for the operator's part of a run and for a run that reconciled after a newer one
 *   had published ("superseded"). The file fingerprints a run read, its resolved input.
 * - `customer_segments` is published by one run at a time: `segment_publication` records which
 *   run it holds, and its single row is the lock that serialises publications.
 * Runs recorded before this migration keep their workflow id as their key.
 */
import type { Knex } from 'knex';

const RUNS = 'segmentation_runs';
const OLD_STATUSES = ['running', 'completed', 'failed'];
const STATUSES = ['running', 'awaiting-operator', 'completed', 'superseded', 'failed', 'cancelled'];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable(RUNS, (table) => {
    table.string('workflow_id', 512).nullable().after('run_id').comment('Temporal workflow id (may be reused by later runs)');
    table.json('input').nullable().comment('the resolved workflow input');
    table.json('files').nullable().comment('per workbook read: file, size, mtime, sha256, sheets');
    table.datetime('published_at', { precision: 3 }).nullable().comment('when this run replaced customer_segments');
  });
  await knex(RUNS).update({ workflow_id: knex.ref('run_id') });
  await knex.schema.alterTable(RUNS, (table) => {
    table.string('workflow_id', 512).notNullable().alter();
    table.enu('status', STATUSES).notNullable().alter();
    table.index(['workflow_id']);
    table.index(['status', 'finished_at']);
  });

  await knex.schema.createTable('segment_publication', (table) => {
    table.tinyint('id').unsigned().primary().comment('always 1: one row, locked by each publication');
    table.string('run_id', 191).nullable().comment('the run customer_segments holds');
    table.datetime('run_started_at', { precision: 3 }).nullable().comment('its start: a run started earlier never replaces it');
    table.datetime('published_at', { precision: 3 }).nullable();
  });
  // Until now the newest completed run had (mostly) written the table: say so.
  const newest = await knex(RUNS).where({ status: 'completed' }).orderBy('started_at', 'desc').first('run_id', 'started_at', 'finished_at');
  await knex('segment_publication').insert({
    id: 1,
    run_id: newest?.run_id ?? null,
    run_started_at: newest?.started_at ?? null,
    published_at: newest?.finished_at ?? null,
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('segment_publication');
  await knex(RUNS).whereIn('status', ['awaiting-operator', 'cancelled']).update({ status: 'failed' });
  await knex(RUNS).where({ status: 'superseded' }).update({ status: 'completed' });
  await knex.schema.alterTable(RUNS, (table) => {
    table.dropIndex(['status', 'finished_at']);
    table.dropIndex(['workflow_id']);
    table.enu('status', OLD_STATUSES).notNullable().alter();
    table.dropColumn('published_at');
    table.dropColumn('files');
    table.dropColumn('input');
    table.dropColumn('workflow_id');
  });
}
