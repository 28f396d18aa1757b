/**
 * The older design's side of bench/older-design.bench.ts: its venv under .stack (installed from
 * PyPI the first time, with the spark-sql-kafka package resolved from Maven Central by Spark
 * itself into .stack/bench-ivy), and one run of bench/older-design/older-design.py.
 */
import { join, resolve } from 'node:path';
import { benchVenv, runJsonScript, type ScriptResult } from '../support/warm-worker';

const PROJECT = resolve(__dirname, '..', '..');
/** Where Spark keeps the spark-sql-kafka jars it resolves (spark.jars.ivy): inside .stack, not ~/.ivy2. */
export const IVY_DIR = join(PROJECT, '.stack', 'bench-ivy');
/** pyspark 4.2.0 with the spark-sql-kafka of the same version (older-design.py names it). */
export const PYTHON_PACKAGES = ['pyspark==4.2.0', 'pandas==3.1.1', 'openpyxl==3.1.5', 'kafka-python==3.0.12', 'pymysql==1.2.4'];

/** Its phases: imports, pandas, produce, spark start, stream and insert, spark stop. */
export type OlderDesignResult = ScriptResult;

/** A Python with the older design's packages, installing them into .stack/bench-venv-older-design if need be. */
export function pythonForOlderDesign(): string {
  return benchVenv('bench-venv-older-design', PYTHON_PACKAGES, ['pyspark', 'pandas', 'openpyxl', 'kafka', 'pymysql']);
}

export function runOlderDesign(
  python: string,
  args: { workbook: string; brokers: string[]; topic: string; mysqlUrl: string; checkpoint: string },
): Promise<OlderDesignResult> {
  const script = join(__dirname, 'older-design.py');
  const argv = [script, args.workbook, '--brokers', args.brokers.join(','), '--topic', args.topic, '--checkpoint', args.checkpoint, '--ivy', IVY_DIR];
  return runJsonScript<Omit<OlderDesignResult, 'processSeconds'>>(python, argv, { OLDER_DESIGN_MYSQL_URL: args.mysqlUrl });
}
