/**
 * Write, audit, publish:
 * - a run's data date (its newest kept InvoiceDate) orders publication: the published run is the
 *   one with the newest data, not the one started last; `segment_publication` keeps it beside the run;
 * - the figures each audit check saw (published against this run), and how the run ended its audit;
 * - every change of the published run, as an event: which run, replacing which, how (audit passed,
 *   audit off, approved by an operator, or `segment publish` on purpose), by whom and why.
 * Runs recorded before this migration have no data date: any run with one outranks them.
 */
import type { Knex } from 'knex';

const RUNS = 'segmentation_runs';
const PUBLICATION = 'segment_publication';
const EVENTS = 'segment_publication_events';
export const PUBLICATION_KINDS = ['audit-passed', 'audit-off', 'approved', 'operator-publish'] as const;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable(RUNS, (table) => {
    table.datetime('data_date').nullable().after('started_at').comment('newest InvoiceDate among the kept rows: orders publication');
    table.json('audit').nullable().comment('the checks before publication: limits, published and run figures, outcome, approval');
    table.index(['data_date']);
  });
  await knex.schema.alterTable(PUBLICATION, (table) => {
    table.datetime('data_date').nullable().after('run_started_at').comment("the published run's data date: only newer data replaces it");
  });
  await knex.schema.createTable(EVENTS, (table) => {
    table.increments('id').primary();
    table.string('run_id', 191).notNullable().comment('the run customer_segments holds from then on');
    table.string('previous_run_id', 191).nullable();
    table.enu('kind', [...PUBLICATION_KINDS]).notNullable();
    table.string('decided_by', 255).nullable();
    table.text('reason').nullable();
    table.datetime('published_at', { precision: 3 }).notNullable();
    table.index(['run_id']);
    table.index(['published_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable(EVENTS);
  await knex.schema.alterTable(PUBLICATION, (table) => {
    table.dropColumn('data_date');
  });
  await knex.schema.alterTable(RUNS, (table) => {
    table.dropIndex(['data_date']);
    table.dropColumn('audit');
    table.dropColumn('data_date');
  });
}
