/** Everything the worker's workflow bundle registers. */
export { customerSegmentation } from './customer-segmentation';
export { progressQuery } from './segmentation-progress';
export { operatorDecisionUpdate } from './operator-decision';
