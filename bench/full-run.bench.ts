/**
 * The full UCI workbook through the real pipeline (Temporal, Kafka, MySQL, a worker in this
 * process), timed per step, side by side in one run with the in-process preview that only
 * loads, cleans and aggregates: the ratio is what durability, Kafka and MySQL cost on top of
 * reading the workbook.
 *
 *   npx segment stack up && npx tsx bench/full-run.bench.ts [path/to/online-retail.xlsx] [rounds]
 *
 * Not a test: it asserts nothing and its figures depend on the machine (2 cores here, shared).
 * It uses a throw-away database, topic and task queue, and drops them at the end.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import mysql from 'mysql2/promise';
import { loadConfig, type AppConfig } from '../lib/config';
import { createDatabase, migrateToLatest } from '../lib/database';
import { connectKafkaAdmin } from '../lib/kafka';
import { previewWorkbook } from '../lib/workbook/preview-workbook';
import { createSegmentationWorker } from '../workers/segmentation-worker';
import { customerSegmentation } from '../workflows';
import type { SegmentationProgress } from '../workflows/segmentation-progress';
import { STEPS } from '../workflows/steps';

const workbook = path.resolve(process.argv[2] ?? path.join(__dirname, '../../shared/data/online-retail.xlsx'));
const rounds = Number(process.argv[3] ?? 3);

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const base = loadConfig();
  const suffix = randomBytes(3).toString('hex');
  const config: AppConfig = {
    ...base,
    taskQueue: `bench-${suffix}`,
    kafkaTopic: `purchase-frequency-bench-${suffix}`,
    mysql: { ...base.mysql, database: `${base.mysql.database}_bench_${suffix}` },
    mysqlMigration: { ...base.mysqlMigration, database: `${base.mysql.database}_bench_${suffix}` },
    dataDir: path.dirname(workbook),
  };
  // The migration user makes the database and its schema; the worker uses the DML-only user.
  const admin = await mysql.createConnection(base.mysqlMigration);
  await admin.query(`CREATE DATABASE ${mysql.escapeId(config.mysql.database)}`);
  const migrations = createDatabase(config.mysqlMigration);
  await migrateToLatest(migrations).finally(() => migrations.destroy());
  const connection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection, namespace: config.temporalNamespace });
  const { worker, run } = await createSegmentationWorker(config);
  const running = run();

  const rows: Array<Record<string, string>> = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      // Interleaved, so both see the same machine load.
      const previewStart = process.hrtime.bigint();
      await previewWorkbook({ filePath: workbook, displayName: path.basename(workbook) });
      const previewSeconds = Number(process.hrtime.bigint() - previewStart) / 1e9;

      const runStart = process.hrtime.bigint();
      const result: SegmentationProgress = await client.workflow.execute(customerSegmentation, {
        taskQueue: config.taskQueue,
        workflowId: `bench-${suffix}-${round}`,
        args: [{ file: path.basename(workbook) }],
      });
      const runSeconds = Number(process.hrtime.bigint() - runStart) / 1e9;
      const row: Record<string, string> = { round: String(round), 'preview s': previewSeconds.toFixed(2), 'run s': runSeconds.toFixed(2) };
      for (const step of STEPS) row[`${step} s`] = (result.steps[step].seconds ?? 0).toFixed(2);
      row['run / preview'] = (runSeconds / previewSeconds).toFixed(2);
      row.customers = String(result.summary?.customers);
      rows.push(row);
    }
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await admin.query(`DROP DATABASE ${mysql.escapeId(config.mysql.database)}`);
    await admin.end();
    const kafka = await connectKafkaAdmin(config.kafkaBrokers, 'bench-cleanup', config.kafkaSecurity);
    await kafka.deleteTopics({ topics: [config.kafkaTopic] });
    await kafka.disconnect();
  }
  console.log(`${workbook}, ${rounds} rounds`);
  console.table(rows);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
