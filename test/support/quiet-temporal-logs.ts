/** Workers in tests log warnings and errors only, one line each: the INFO lines (bundle sizes, state changes) drown the results. */
import { Runtime } from '@temporalio/worker';
import { oneLineLogger } from '../../workers/worker-log';

Runtime.install({ logger: oneLineLogger('WARN') });
