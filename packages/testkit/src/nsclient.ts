/**
 * Running `scripts/tessera --role=ns_client --cmd=...` as a real process from tests, and reading
 * its output tables back into rows.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MAIN_JS, REPO_ROOT } from './roles.js';

const run = promisify(execFile);

export interface NsClientResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs ns_client once with `--cmd` (and any extra flags); never throws on a non-zero exit. */
export async function nsClient(zkCluster: string, cmd: string, extra: Record<string, string> = {}, zkRootPath = '/tessera'): Promise<NsClientResult> {
  const args = [MAIN_JS, '--role=ns_client', `--zk_cluster=${zkCluster}`, `--zk_root_path=${zkRootPath}`, '--interactive=false', `--cmd=${cmd}`];
  for (const [k, v] of Object.entries(extra)) args.push(`--${k}=${v}`);
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd: REPO_ROOT, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

/**
 * Parses an OpenMLDB-style table (header, dashed rule, rows; cells separated by 2+ spaces) into
 * objects keyed by header. Lines before the header are skipped; parsing stops at a blank line.
 */
export function parseTable(text: string, firstHeader: string): Array<Record<string, string>> {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.trim().split(/\s+/)[0] === firstHeader && /^-+$/.test((lines[lines.indexOf(l) + 1] ?? '').trim()));
  if (at < 0) return [];
  const header = lines[at]!.trim().split(/\s{2,}/);
  const rows: Array<Record<string, string>> = [];
  for (const line of lines.slice(at + 2)) {
    if (line.trim() === '' || /^-+$/.test(line.trim())) break;
    const cells = line.trim().split(/\s{2,}/);
    if (cells.length !== header.length) break;
    rows.push(Object.fromEntries(header.map((h, i) => [h, cells[i]!])));
  }
  return rows;
}
