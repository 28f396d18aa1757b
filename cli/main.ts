/** The `segment` command: one entry point for the stack, the worker and the runs. */
import { Command, Option } from 'commander';
import { addInputFlags, wholeNumber } from './input-flags';

// Each command loads its own modules when it runs, so `segment stack status` does not pay for
// the Temporal worker or exceljs. (require, not import(): the build is CommonJS, and require keeps each command's load synchronous.)
const load = {
  demo: () => require('./commands/demo') as typeof import('./commands/demo'),
  stack: () => require('./commands/stack') as typeof import('./commands/stack'),
  migrate: () => require('./commands/migrate') as typeof import('./commands/migrate'),
  worker: () => require('./commands/worker') as typeof import('./commands/worker'),
  run: () => require('./commands/run') as typeof import('./commands/run'),
  dryRun: () => require('./commands/dry-run') as typeof import('./commands/dry-run'),
  status: () => require('./commands/status') as typeof import('./commands/status'),
  generate: () => require('./commands/generate') as typeof import('./commands/generate'),
  schedule: () => require('./commands/schedule') as typeof import('./commands/schedule'),
  report: () => require('./commands/report') as typeof import('./commands/report'),
  runs: () => require('./commands/runs') as typeof import('./commands/runs'),
  operator: () => require('./commands/operator-decision') as typeof import('./commands/operator-decision'),
  publish: () => require('./commands/publish') as typeof import('./commands/publish'),
};

/** Runs a command and exits with its code; an error prints its message, not a stack trace. */
const exitWith = (command: () => Promise<number>) => async () => {
  try {
    process.exitCode = await command();
  } catch (error) {
    console.error(`segment: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
  // Kafka and MySQL clients may keep sockets open for a moment; the answer is already printed.
  setTimeout(() => process.exit(), 100).unref();
};

const program = new Command('segment').description('Customer purchase-frequency segmentation on Temporal, Kafka and MySQL');

program
  .command('demo')
  .description('the whole job end to end: stack up, generated workbook, worker, run, results')
  .option('--file <path>', 'run on this workbook (inside DATA_DIR) instead of a generated one')
  .option('--rows <n>', 'rows of the generated workbook', wholeNumber, 100_000)
  .option('--json', 'print the result as JSON on the last line')
  .action((options) => exitWith(async () => load.demo().demoCommand(options))());

program
  .command('stack')
  .description('start, stop or show the local Temporal, Kafka and MySQL servers (no Docker needed), and Prometheus with the alert rules on request')
  .argument('<action>', 'up, down or status')
  .argument(
    '[servers...]',
    'temporal, kafka (every broker) or kafka-1, kafka-2... (one of KAFKA_BROKER_COUNT), mysql, prometheus ' +
      '(default: temporal, kafka and mysql, and prometheus while it runs: `stack up prometheus` starts it)',
  )
  .action((action: string, servers: string[]) => exitWith(async () => load.stack().stackCommand(action, servers))());

program
  .command('migrate')
  .description('bring the MySQL schema up to date')
  .option('--rollback', 'undo all migrations instead')
  .action((options) => exitWith(async () => load.migrate().migrateCommand(options))());

program
  .command('worker')
  .description('run a worker for the customer-segmentation task queue until SIGINT/SIGTERM')
  .action(() => exitWith(async () => load.worker().workerCommand())());

// The input flags (--file, --threshold, --audit...) come from the input's fields (workflows/segmentation-input.ts).
addInputFlags(program.command('run').description('start a segmentation run on a workbook inside DATA_DIR'), 'run')
  .option('--workflow-id <id>', 'workflow id (default: customer-segmentation-<time>-<random>)')
  .option('--wait', 'wait for the result (or for an operator), with a progress bar per step')
  .option('--json', 'print one JSON object as the last line')
  .option('--dry-run', 'only load, clean and aggregate in this process: no Temporal, Kafka or MySQL')
  .action((options) => exitWith(async () => (options.dryRun ? load.dryRun().dryRunCommand(options) : load.run().runCommand(options)))());

program
  .command('status')
  .description('progress or result of a run')
  .argument('<workflowId>')
  .option('--wait', 'follow it to the end with progress bars')
  .option('--json', 'print one JSON object')
  .action((workflowId: string, options) => exitWith(async () => load.status().statusCommand(workflowId, options))());

const OPERATOR_ACTIONS = {
  retry: 'a run waiting for an operator: run its failed step (and the later ones) again, or audit a held run again',
  approve: 'a run its audit held: publish it as it is (recorded with --by and --reason)',
  abort: 'a run waiting for an operator: end it as failed, publishing nothing',
} as const;
for (const action of ['retry', 'approve', 'abort'] as const) {
  program
    .command(action)
    .description(OPERATOR_ACTIONS[action])
    .argument('<workflowId>')
    .option('--reason <text>', 'recorded with the decision')
    .option('--by <name>', 'who decided (default: your user name)')
    .option('--wait', 'then follow the run to its end')
    .option('--json', 'print JSON')
    .action((workflowId: string, options) => exitWith(async () => load.operator().operatorDecisionCommand(action, workflowId, options))());
}

program
  .command('publish')
  .description('make a completed run the published one, on purpose (e.g. to undo a result approved by mistake); atomic and recorded')
  .argument('<run>', 'a workflow id (its newest run) or a run key')
  .option('--reason <text>', 'recorded with the publication')
  .option('--by <name>', 'who decided (default: your user name)')
  .option('--json', 'print JSON')
  .action((run: string, options) => exitWith(async () => load.publish().publishCommand(run, options))());

program
  .command('runs')
  .description('the recent runs: status, current or failed step, file, counts, start and duration')
  .option('--limit <n>', 'how many', wholeNumber, 20)
  .option('--json', 'print JSON')
  .action((options) => exitWith(async () => load.runs().runsCommand(options))());

program
  .command('generate')
  .description('write a workbook shaped like the UCI Online Retail export, dirt included')
  .requiredOption('--rows <n>', 'number of transaction rows', wholeNumber)
  .requiredOption('--out <path>', 'where to write the .xlsx')
  .option('--seed <n>', 'random seed (same seed, same workbook)', wholeNumber)
  .option('--json', 'print the expected figures as JSON')
  .action((options) => exitWith(async () => load.generate().generateCommand(options))());

const schedule = program
  .command('schedule')
  .description('the nightly run as a Temporal Schedule (02:00 UTC by default): create, list, describe, update, pause, unpause, trigger, backfill, delete');
const scheduleId = () => new Option('--id <scheduleId>', 'schedule id').default('customer-segmentation-nightly');
const scheduleAction = (action: import('./commands/schedule').ScheduleAction, description: string) =>
  schedule
    .command(action)
    .description(description)
    .addOption(scheduleId())
    .option('--json', 'print JSON')
    .action((options) => exitWith(async () => load.schedule().scheduleCommand(action, options))());
// The input flags come from the input's fields (workflows/segmentation-input.ts); --cron and --run-timeout are the schedule's own.
const workbookOptions = (command: Command, purpose: string) =>
  addInputFlags(command, 'schedule', purpose)
    .option('--cron <expression>', 'when, as cron in --timezone (default "0 2 * * *": 02:00 every day)')
    .option('--run-timeout <duration>', 'Temporal ends a run still going after this; longer than --operator-wait (default 20h)');
workbookOptions(scheduleAction('create', 'make the schedule; prints what it will run and when'), 'to read each night').option(
  '--note <text>',
  'the note shown in the UI (default: what the schedule does)',
);
scheduleAction('list', 'the customer segmentation schedules: state, when, workbook, next and last run');
scheduleAction('describe', 'spec, time zone, input, policies, next runs (with the file each reads) and recent runs');
workbookOptions(scheduleAction('update', 'change what is given, keep the rest'), 'to read from now on');
scheduleAction('pause', 'no run starts until unpause').option('--note <text>', 'why (shown in the UI)');
scheduleAction('unpause', 'runs start again at the next slot').option('--note <text>', 'the note (default: what the schedule does)');
scheduleAction('trigger', 'run now, as the UI\'s Trigger button; {date} is today in the schedule\'s time zone');
scheduleAction('backfill', 'run past nights, one after another, each on its own day\'s file')
  .option('--from <day>', 'first night, YYYY-MM-DD in the schedule\'s time zone')
  .option('--to <day>', 'last night, included (default: --from)');
scheduleAction('delete', 'remove the schedule (the runs it started stay)');

program
  .command('report')
  .description(
    "a run's report: the file it read, rows read, kept and dropped per reason, segment sizes, a PurchaseCount histogram, " +
      'the RFM segments with their Monetary and the recency × frequency grid, ' +
      'and the customers who changed category or RFM segment since the previous published run',
  )
  .argument('[workflowId]', 'the run (a workflow id, its newest run; or a run key); default: the run customer_segments holds')
  .option('--html <file>', 'write the report as one self-contained HTML page (inline SVG chart, the recency × frequency heat map, nothing from the network)')
  .option('--moved', 'print only the changes since the previous published run: moves between RFM segments, and the customers who changed category or segment')
  .option('--limit <n>', 'how many of the customers who changed category or segment to print (JSON lists all)', wholeNumber, 20)
  .option('--json', 'print the report as one JSON object')
  .action((workflowId: string | undefined, options) => exitWith(async () => load.report().reportCommand(workflowId, options))());

// Every action catches its own errors (exitWith): nothing is left to await here.
void program.parseAsync(process.argv);
