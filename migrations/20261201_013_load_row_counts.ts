/**
 * Data rows each load activity of a run has read so far, so the run's rows can be held to
 * maxRows over all its workbooks and sheets together, though they load side by side on any
 * workers. Each part's row is replaced (not added to) as it goes: a retried attempt that resumes
 * counts its rows once. Staging: emptied when the load starts again, pruned with the rest.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('staging_load_rows', (table) => {
    table.string('run_id', 191).notNullable();
    /** sha256 of file and sheet: either may be longer than an index allows. */
    table.specificType('part_key', 'CHAR(64)').notNullable();
    table.bigInteger('rows_read').unsigned().notNullable();
    table.primary(['run_id', 'part_key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('staging_load_rows');
}
