/** `segment migrate [--rollback]`: brings the MySQL schema up to date, as MYSQL_MIGRATION_URL's user. */
import { loadConfig } from '../../lib/config';
import { createDatabase, migrateToLatest } from '../../lib/database';

export async function migrateCommand(options: { rollback?: boolean }): Promise<number> {
  const db = createDatabase(loadConfig().mysqlMigration);
  try {
    if (options.rollback) {
      const [, undone] = (await db.migrate.rollback(undefined, true)) as [number, string[]];
      console.log(undone.length ? `rolled back: ${undone.join(', ')}` : 'nothing to roll back');
    } else {
      const ran = await migrateToLatest(db);
      console.log(ran.length ? `migrated: ${ran.join(', ')}` : 'schema already up to date');
    }
    return 0;
  } finally {
    await db.destroy();
  }
}
