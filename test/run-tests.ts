/**
 * `npm test` (`unit integration`) and `npm run test:integration` (`integration`): the jest
 * projects of jest.config.js in the order, and side by side where they can be, that keeps a
 * 2-core machine busy without letting one file disturb another:
 *
 *   1. unit + workflow, two files at a time: no server. Meanwhile a second, private stack
 *      comes up for step 2's outage lane; with --stack-up (.ci/run) the main stack (STACK_DIR)
 *      comes up first, then the private one, whose tools it installs.
 *   2. two lanes at once, each on a stack of its own:
 *      - integration, three files at a time, on the stack `segment stack up` started (STACK_DIR):
 *        its files wait for servers much of the time (two at a time: 471 s in a fresh-clone CI,
 *        three: 359 s);
 *      - real-data and outage, one file at a time, on the private stack: the outage files stop
 *        and kill servers, so they must never share one with other files. They mostly wait for
 *        servers to go and come back, which leaves CPU for the integration lane and for the
 *        real-data files (no server, but a minute of CPU).
 *   3. timing, alone: worker-start's time bound, with no other test using the CPU.
 *
 * The private stack lives in STACK_DIR/outage with the tools of STACK_DIR (nothing installed
 * twice), serves on free ports below the ephemeral range, and is stopped at the end, pass or fail.
 *
 * Every lane prints a line as each test ends (test/support/test-case-reporter.js) and has a time
 * budget, LANE_BUDGET_MINUTES: a lane past it is stopped and reported with the test it was in,
 * so a stuck test fails CI in minutes, saying where, instead of running silently into its limit.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { stackDown, stackStatus, stackUp } from '../infra/stack/stack';
import { loadStackSettings, type StackSettings } from '../infra/stack/stack-settings';
import { PORTS_PER_BROKER } from '../lib/local-kafka-ports';
import { hostOf, PROJECT_ROOT, setting } from '../lib/config';
import { buildProject } from './support/build-project';
import { freePorts } from './support/free-ports';

type Stage = 'unit' | 'integration';
const JEST = path.join(PROJECT_ROOT, 'node_modules', 'jest', 'bin', 'jest.js');

interface LaneResult {
  lane: string;
  ok: boolean;
  seconds: number;
}

/** Four to eight times what each lane takes on a quiet 2-core machine: past it, something is stuck (LANE_BUDGET_MINUTES overrides it). */
const LANE_BUDGET_MINUTES = Number(process.env.LANE_BUDGET_MINUTES ?? 25);
const REPORTER = path.join(PROJECT_ROOT, 'test', 'support', 'test-case-reporter.js');

async function main(stages: Stage[], options: { stackUp: boolean }): Promise<boolean> {
  const results: LaneResult[] = [];
  const summary = () => results.map((r) => `${r.lane} ${r.ok ? 'passed' : 'FAILED'} in ${r.seconds}s`).join('; ');
  // Built once here: the lanes' global set-ups then find dist/ current (build-project.ts) and skip the build.
  buildProject();
  const integration = stages.includes('integration');
  // With --stack-up (.ci/run) the main stack comes up here, while the unit lane runs; without it,
  // a stack that is down fails the run at once, before the unit lane.
  const mainStackUp = integration ? (options.stackUp ? bringUpMainStack() : requireMainStack()) : Promise.resolve();
  mainStackUp.catch(() => undefined); // awaited below; a failure is reported there
  if (!options.stackUp) await mainStackUp;
  const privateStack = integration ? await outageStack() : undefined;
  // Ctrl-C (or CI's kill) ends the jest lanes too; the private stack must not outlive them.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void (privateStack?.down() ?? Promise.resolve()).finally(() => process.exit(130)));
  }
  try {
    // Started now, awaited only when the outage lane needs it: it comes up while the unit tests run,
    // after the main stack, whose tools it shares (a fresh machine installs them once, for both).
    const privateStackUp = privateStack ? mainStackUp.then(() => privateStack.up()) : undefined;
    privateStackUp?.catch(() => undefined); // awaited below; a failure is reported there

    if (stages.includes('unit')) {
      results.push(await lane('unit + workflow', ['--selectProjects', 'unit', 'workflow', '--maxWorkers=2']));
      if (!results.every((r) => r.ok)) return false;
    }
    if (privateStack && privateStackUp) {
      const lanes = await Promise.all([
        mainStackUp.then(
          () => lane('integration', ['--selectProjects', 'integration', '--maxWorkers=3'], { prefix: 'integration' }),
          (error: unknown) => {
            process.stderr.write(`[integration] the stack did not come up: ${String(error)}\n`);
            return { lane: 'integration', ok: false, seconds: 0 };
          },
        ),
        privateStackUp.then(
          () => lane('real-data + outage', ['--selectProjects', 'real-data', 'outage', '--runInBand'], { prefix: 'outage', env: privateStack.env }),
          (error: unknown) => {
            process.stderr.write(`[outage] the private stack did not come up: ${String(error)}\n`);
            return { lane: 'outage', ok: false, seconds: 0 };
          },
        ),
      ]);
      results.push(...lanes);
      if (!results.every((r) => r.ok)) return false;
      results.push(await lane('timing', ['--selectProjects', 'timing', '--runInBand']));
    }
    return results.every((r) => r.ok);
  } finally {
    if (privateStack) await privateStack.down();
    // CI keeps only the tail of the output: the failed tests come last, after the servers' noise.
    for (const result of results) if (!result.ok) process.stderr.write(failureSummary(result.lane));
    process.stderr.write(`\ntest lanes: ${summary()}\n`);
  }
}

/** Where each lane's jest writes its results as JSON (jest's --json --outputFile), and its reporter each test's start and end. */
const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'segment-test-results-'));
const resultsFile = (laneName: string) => path.join(resultsDir, `${laneName.replace(/\W+/g, '-')}.json`);
const eventsFile = (laneName: string) => path.join(resultsDir, `${laneName.replace(/\W+/g, '-')}.events.jsonl`);

interface TestEvent {
  at: number;
  event: 'file-start' | 'test-start' | 'test-end' | 'file-end';
  file: string;
  test?: string;
  status?: string;
  failure?: string;
  failed?: number;
  message?: string;
}

interface JestResults {
  testResults?: { name: string; message?: string; assertionResults?: { status: string; fullName: string; failureMessages?: string[] }[] }[];
}

/** The lane's failed files and tests, each with the head of its failure message. */
function failureSummary(laneName: string): string {
  const file = resultsFile(laneName);
  if (!fs.existsSync(file)) return stoppedLaneSummary(laneName);
  const results = JSON.parse(fs.readFileSync(file, 'utf8')) as JestResults;
  const lines = [`\n${laneName} failed:`];
  for (const suite of results.testResults ?? []) {
    const failed = (suite.assertionResults ?? []).filter((test) => test.status === 'failed');
    const relative = path.relative(PROJECT_ROOT, suite.name);
    for (const test of failed) lines.push(`  ✕ ${relative} › ${test.fullName}`, head((test.failureMessages ?? []).join('\n')));
    // A file that failed outside its tests (set-up, teardown, a syntax error) has only a message.
    if (failed.length === 0 && suite.message) lines.push(`  ✕ ${relative}`, head(suite.message));
  }
  return `${lines.join('\n')}\n`;
}

const head = (text: string) => stripVTControlCharacters(text).split('\n').filter((line) => !line.includes('/node_modules/')).slice(0, 25).map((line) => `    ${line}`).join('\n');

/** A lane whose jest wrote no results (stopped past its budget, or killed): what its reporter saw. */
function stoppedLaneSummary(laneName: string): string {
  const file = eventsFile(laneName);
  if (!fs.existsSync(file)) return `\n${laneName}: jest wrote no results and started no test file (its global set-up never finished?)\n`;
  const events = fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as TestEvent);
  const lines = [`\n${laneName} was stopped before jest wrote its results:`];
  for (const failed of events.filter((event) => event.event === 'test-end' && event.status === 'failed')) lines.push(`  ✕ ${failed.file} › ${failed.test}`, head(failed.failure ?? ''));
  const ended = new Set(events.filter((event) => event.event === 'file-end').map((event) => event.file));
  const stoppedAt = Date.now();
  for (const start of events.filter((event) => event.event === 'file-start' && !ended.has(event.file))) {
    const tests = events.filter((event) => event.file === start.file);
    const running = tests.filter((event) => event.event === 'test-start').at(-1);
    const done = tests.filter((event) => event.event === 'test-end').length;
    const inTest = running && !tests.some((event) => event.event === 'test-end' && event.test === running.test);
    const where = inTest
      ? ` › ${running.test} (started ${Math.round((stoppedAt - running.at) / 1000)} s before the stop)`
      : running ? ' (in a hook after its last test)' : ' (before its first test: loading it, or a beforeAll hook)';
    lines.push(`  … ${start.file}${where}; ${done} of its tests had ended`);
  }
  return `${lines.join('\n')}\n`;
}

/** Runs jest with these arguments; its output goes through, each line prefixed when lanes run side by side. */
function lane(name: string, args: string[], options: { prefix?: string; env?: NodeJS.ProcessEnv } = {}): Promise<LaneResult> {
  const started = Date.now();
  const reported = [...args, '--json', `--outputFile=${resultsFile(name)}`, '--reporters=default', `--reporters=${REPORTER}`];
  const selected = patterns.length ? [...reported, '--passWithNoTests', ...patterns] : reported;
  const child = spawn(process.execPath, [JEST, ...selected], {
    cwd: PROJECT_ROOT,
    env: { ...(options.env ?? process.env), TEST_EVENTS_FILE: eventsFile(name) },
    stdio: options.prefix ? ['ignore', 'pipe', 'pipe'] : 'inherit',
  });
  if (options.prefix) {
    prefixLines(child.stdout!, process.stdout, options.prefix);
    prefixLines(child.stderr!, process.stderr, options.prefix);
  }
  const budget = setTimeout(() => {
    process.stderr.write(`\n${name}: still running after its budget of ${LANE_BUDGET_MINUTES} min; stopping it\n`);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  }, LANE_BUDGET_MINUTES * 60_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(budget);
      resolve({ lane: name, ok: code === 0, seconds: Math.round((Date.now() - started) / 1000) });
    });
  });
}

function prefixLines(from: NodeJS.ReadableStream, to: NodeJS.WritableStream, prefix: string): void {
  let partial = '';
  from.setEncoding('utf8');
  from.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) to.write(`[${prefix}] ${line}\n`);
  });
  from.on('end', () => {
    if (partial) to.write(`[${prefix}] ${partial}\n`);
  });
}

/**
 * The outage lane's own stack: STACK_DIR/outage, the same hosts, users and database as the main
 * stack's settings, on free ports. `env` is what the lane's jest (and every `segment` or worker it
 * spawns) runs with.
 */
async function outageStack(): Promise<{ env: NodeJS.ProcessEnv; settings: StackSettings; up(): Promise<void>; down(): Promise<void> }> {
  const main = loadStackSettings();
  const stackDir = path.join(main.stackDir, 'outage');
  fs.mkdirSync(stackDir, { recursive: true });
  // The main stack's tools, shared. It may have none of its own (its servers run elsewhere, e.g.
  // Docker): the private stack then installs them there, for both.
  fs.mkdirSync(main.toolsDir, { recursive: true });
  const tools = path.join(stackDir, 'tools');
  if (!fs.lstatSync(tools, { throwIfNoEntry: false })) fs.symlinkSync(main.toolsDir, tools);

  const brokers = main.kafka.nodes.length;
  const first = await freePorts(3 + brokers * PORTS_PER_BROKER);
  const withPort = (url: string, port: number) => Object.assign(new URL(url), { port: String(port) }).toString();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STACK_DIR: stackDir,
    TEMPORAL_ADDRESS: `${hostOf(main.temporal.address)}:${first}`,
    TEMPORAL_UI_PORT: String(first + 1),
    MYSQL_URL: withPort(setting('MYSQL_URL'), first + 2),
    MYSQL_MIGRATION_URL: withPort(setting('MYSQL_MIGRATION_URL'), first + 2),
    // Broker n's ports follow broker 1's, 3 apart (lib/local-kafka-ports.ts).
    KAFKA_BROKERS: `${main.kafka.host}:${first + 3}`,
    KAFKA_CONTROLLER_PORT: String(first + 4),
    KAFKA_SASL_PORT: String(first + 5),
  };
  const settings = loadStackSettings(env);
  const log = (line: string) => process.stderr.write(`[outage stack] ${line}\n`);
  // Servers a run that was interrupted left behind would serve on other ports: stop them first.
  await stackDown([], () => {}, settings);
  return {
    env,
    settings,
    async up() {
      log(`starting in ${stackDir} (Temporal ${settings.temporal.address}, MySQL port ${settings.mysql.port}, Kafka ${settings.kafka.brokers.join(',')})`);
      await stackUp([], log, settings);
    },
    async down() {
      await stackDown([], log, settings);
    },
  };
}

/** The integration lanes need the main stack (STACK_DIR) answering: it is checked, never started. */
async function requireMainStack(): Promise<void> {
  const down = (await stackStatus()).filter((server) => !server.up);
  if (down.length > 0) {
    throw new Error(`the integration tests need the stack up (${down.map((s) => s.name).join(', ')} not answering): run \`npx segment stack up\` first`);
  }
}

/** --stack-up: `segment stack up` in this process (installing what is missing), its lines prefixed. */
async function bringUpMainStack(): Promise<void> {
  const started = Date.now();
  await stackUp([], (line) => process.stderr.write(`[stack] ${line}\n`));
  process.stderr.write(`[stack] up in ${Math.round((Date.now() - started) / 1000)}s\n`);
}

// `npm run test:integration -- stack fault-table`: the stages, then jest path patterns, which each
// lane applies to its own files (a lane none of them matches passes with no tests).
// --stack-up: bring the stack up too (what `.ci/run` does), while the unit lane runs.
const args = process.argv.slice(2);
const STACK_UP = '--stack-up';
const stages = args.filter((arg): arg is Stage => arg === 'unit' || arg === 'integration');
const patterns = args.filter((arg) => !stages.includes(arg as Stage) && arg !== STACK_UP);
if (stages.length === 0) {
  process.stderr.write(`usage: tsx test/run-tests.ts [${STACK_UP}] [unit] [integration] [jest path pattern...]\n`);
  process.exit(2);
}
main(stages, { stackUp: args.includes(STACK_UP) }).then(
  (ok) => process.exit(ok ? 0 : 1),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
