/** Public face of @tessera/chaos: the bad-input suite, the TCP fault proxy and the fault-injection harness (runner, checkers, schedule). */
export { badInputCases, formatReport, runBadInput, type BadInputOptions, type BadInputReport } from './badinput/runner.js';
export type { Case, CaseResult } from './badinput/model.js';
export { startProxy, PROXY_LIMITS, type Proxy, type ProxyCounters, type ProxyMode, type ProxyOptions } from './harness/proxy.js';
export { runChaos, checkRun, formatSummary, TIMEOUTS, type ChaosOptions, type ChaosResult } from './harness/runner.js';
export type { Summary, RunInfo } from './harness/figures.js';
export { checkSet, setViolations, type SetReport } from './harness/checker-set.js';
export { checkLinearizable, checkKey, opsOfKey, type LinearReport, type KeyReport } from './harness/checker-linear.js';
export { checkCluster, type ClusterReport } from './harness/checker-cluster.js';
export { makeSchedule, SCENARIOS, type FaultStep } from './harness/schedule.js';
export { Prng, parseSeed } from './harness/prng.js';
export type { Call, HistoryEvent, NemesisEvent, AdminEvent, FinalState, FaultKind } from './harness/history.js';
