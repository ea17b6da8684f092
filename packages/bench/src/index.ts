export { benchTablet } from './tablet-bench.js';
export { benchCluster } from './cluster-bench.js';
