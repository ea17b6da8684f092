/**
 * What the entry point knows before it loads a role: the `--role` flag and the version. Kept apart
 * from the roles themselves so that `scripts/tessera` loads only the role it runs (main.ts): an
 * ns_client process does not load the tablet, the nameserver or their HTTP server.
 */
import { readFileSync } from 'node:fs';
import type { FlagSpecs } from '@tessera/common';

/** The launcher's own flag, accepted beside every role's flags. */
export const ROLE_FLAG = { role: { type: 'string', default: '', doc: 'tablet | nameserver | ns_client' } } as const satisfies FlagSpecs;

/**
 * The version printed by --version and at startup: @tessera/roles's package.json (next to dist/
 * in the repository and in a `pnpm deploy` output alike; kept equal to the root package's version).
 */
export function tesseraVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
