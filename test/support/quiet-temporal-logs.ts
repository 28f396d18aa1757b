/** Workers in tests log warnings and errors only: the INFO lines (bundle sizes, state changes) drown the results. */
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });
