/**
 * How ns_client prints: OpenMLDB's plain tables and its human units, and the JSON of
 * `--format=json`.
 *
 * A table is a header row, a dashed rule and the data rows. Every cell is written as two spaces
 * followed by the text padded on the right to the column's width (the widest of its header and
 * cells); lines carry no trailing spaces (the last column is not padded). The rule is as long as
 * the header line plus two, or as the longest row when that is longer. This reproduces the
 * operator procedure's `showtablet` and `showopstatus` output byte for byte.
 */

const CELL_GAP = '  ';
const RULE_EXTRA_CHARS = 2;

/** Renders a table; the text has no final newline. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => rows.reduce((w, r) => Math.max(w, (r[i] ?? '').length), h.length));
  const line = (cells: readonly string[]): string =>
    header.map((_, i) => CELL_GAP + (cells[i] ?? '').padEnd(widths[i]!)).join('').trimEnd();
  const head = line(header);
  const body = rows.map(line);
  const ruleChars = body.reduce((n, l) => Math.max(n, l.length), head.length + RULE_EXTRA_CHARS);
  return [head, '-'.repeat(ruleChars), ...body].join('\n');
}

/** A table whose first column, `#`, numbers the rows from 1 (OpenMLDB's `showdb`, `preview` ...). */
export function renderNumberedTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return renderTable(['#', ...header], rows.map((r, i) => [String(i + 1), ...r]));
}

const SECOND_MS = 1000;
const MINUTE_S = 60;
const HOUR_S = 60 * MINUTE_S;
const DAY_S = 24 * HOUR_S;

/** Time since a state change as `showtablet` prints it: `20s`, `1min`, `3h`, `15d` (rounded down). */
export function formatAge(ageMs: number): string {
  const s = Math.max(0, Math.floor(ageMs / SECOND_MS));
  if (s < MINUTE_S) return `${s}s`;
  if (s < HOUR_S) return `${Math.floor(s / MINUTE_S)}min`;
  if (s < DAY_S) return `${Math.floor(s / HOUR_S)}h`;
  return `${Math.floor(s / DAY_S)}d`;
}

const BYTE_UNITS = ['', 'K', 'M', 'G', 'T', 'P'] as const;
const KIB_BYTES = 1024;

/** Bytes with three decimals in binary units: `0.000`, `512.000`, `1.500K`, `2.000G`. */
export function formatBytes(bytes: number): string {
  let v = Math.max(0, bytes);
  let unit = 0;
  while (v >= KIB_BYTES && unit < BYTE_UNITS.length - 1) {
    v /= KIB_BYTES;
    unit++;
  }
  return `${v.toFixed(3)}${BYTE_UNITS[unit]}`;
}

/** Optional number or `-` when unknown. */
export function formatOptional(value: number | undefined, format: (n: number) => string = String): string {
  return value === undefined ? '-' : format(value);
}

/** A wall-clock time in local time as `%Y%m%d%H%M%S` (`20180824163316`). */
export function formatLocalTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
}

/** Whole seconds of a duration, as `showopstatus` prints execute_time: `12s`. */
export function formatSeconds(durationMs: number): string {
  return `${Math.max(0, Math.floor(durationMs / SECOND_MS))}s`;
}

/** One line of JSON; bigints become decimal strings, undefined fields are left out. */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
