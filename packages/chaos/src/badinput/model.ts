/**
 * What a bad-input case is, and what the suite knows about the cluster it runs against. A case
 * is data: where it goes, the bytes (built when it is sent, from the cluster as it is then) and
 * the catalogue codes that count as a correct refusal.
 */
import type { ErrorCode } from '@tessera/common';

/** One partition of the suite's table: its leader and its (single) follower. */
export interface PartitionView {
  pid: number;
  leader: string;
  follower: string;
}

/** The cluster the suite runs against. */
export interface ClusterView {
  zkCluster: string;
  zkRootPath: string;
  ns: string;
  tablets: [string, string];
  db: string;
  table: string;
  tid: number;
  partitionNum: number;
  parts: PartitionView[];
  /** A row key stored in partition 0, and one that is stored nowhere. */
  storedKey: string;
  /** Directory for files the cases need (ns_client table meta files). */
  workDir: string;
}

/** What the tablets report now, for bodies that must carry the current epoch, term or offset. */
export interface Live {
  epoch(endpoint: string): number;
  term(endpoint: string, tid: number, pid: number): number;
  offset(endpoint: string, tid: number, pid: number): number;
}

export interface BuildContext {
  v: ClusterView;
  live: Live;
  /** A number unique to the case (fresh names and ids). */
  n: number;
}

/** Which process a case is sent to. */
export type At = 'ns' | 'tabletA' | 'tabletB' | 'p0leader' | 'p0follower' | 'p1leader' | 'p1follower';

/** Cases that may change state if the bug they look for is there run last, in this order. */
export type Phase = 'transport' | 'fields' | 'semantics' | 'nsclient' | 'risky';
export const PHASES: readonly Phase[] = ['transport', 'fields', 'semantics', 'nsclient', 'risky'];

export interface Expectation {
  /** Catalogue codes that count as a correct refusal (the HTTP status must be 4xx). */
  codes: readonly ErrorCode[];
  /** Also accepted: this HTTP status with no catalogue body (e.g. 431 from Node's parser). */
  bareStatus?: number;
  /**
   * The route answers several requests in one (put_multi, get_multi, append_multi) and refuses a
   * bad one in its own `results` entry: a 2xx answer whose every result is a refusal with one of
   * `codes` counts as refused.
   */
  perPart?: boolean;
}

export interface HttpCase {
  kind: 'http';
  id: string;
  phase: Phase;
  at: At;
  method: string;
  path: string;
  /** undefined: no content-type header. */
  contentType: string | undefined;
  body: (c: BuildContext) => Buffer | undefined;
  /** The route's body limit: a body over it must get BODY_TOO_LARGE, whatever else is wrong. */
  limit: number;
  /** Declare this Content-Length and send only the body built (a prefix). */
  declaredLength?: number;
  expect: Expectation;
}

/** One line typed into an interactive ns_client (with `--format=json`): it must fail cleanly. */
export interface CliLineCase {
  kind: 'cli-line';
  id: string;
  phase: Phase;
  /** Run with `--database=<suite db>` (true) or with no database selected. */
  withDb: boolean;
  line: (v: ClusterView) => string;
  /** The failure text must match (when given). */
  match?: RegExp;
}

/** One ns_client process with its own flags: it must exit non-zero or print a failure line. */
export interface CliProcessCase {
  kind: 'cli-process';
  id: string;
  phase: Phase;
  args: (v: ClusterView) => string[];
  match?: RegExp;
}

export type Case = HttpCase | CliLineCase | CliProcessCase;

export interface CaseResult {
  id: string;
  held: boolean;
  /** Why it did not hold (empty when it held). */
  why: string[];
  /** What came back, in a few words. */
  got: string;
}
