/** Public face of @tessera/chaos: the bad-input suite (and, later, fault scenarios). */
export { badInputCases, formatReport, runBadInput, type BadInputOptions, type BadInputReport } from './badinput/runner.js';
export type { Case, CaseResult } from './badinput/model.js';
export { startProxy, PROXY_LIMITS, type Proxy, type ProxyCounters, type ProxyMode, type ProxyOptions } from './harness/proxy.js';
