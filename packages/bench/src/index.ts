export { benchTablet } from './tablet-bench.js';
export { benchCluster } from './cluster-bench.js';
export { benchMigrate } from './migrate-bench.js';
export { benchScale, scaleOptions } from './scale-bench.js';
export { benchHops, splitCost } from './hops-bench.js';
