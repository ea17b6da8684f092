export { benchTablet } from './tablet-bench.js';
