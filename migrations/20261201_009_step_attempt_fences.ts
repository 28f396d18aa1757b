/**
 * Fences for stale attempts (DESIGN 3d): per run and step key (a step, or one part, slice or group
 * of it), the newest attempt that claimed it, ordered by Temporal's scheduled time of its activity
 * and its attempt number. Every delete or replace of a run's rows locks its row and compares it in
 * the same transaction. The worker's user needs rows only, like every other table.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('segmentation_step_attempts', (table) => {
    table.string('run_id', 191).notNullable();
    table.string('step_key', 191).notNullable().comment('step, or step:part (a load part, publish slice, classify group)');
    table.datetime('scheduled_at', { precision: 3 }).notNullable().comment("when Temporal first scheduled the claiming activity");
    table.integer('attempt').unsigned().notNullable().comment('its attempt number (0 on a step row of a fanned-out step)');
    table.string('activity_id', 255).notNullable();
    table.datetime('claimed_at', { precision: 3 }).notNullable();
    table.primary(['run_id', 'step_key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('segmentation_step_attempts');
}
