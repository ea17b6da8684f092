/** Parsing `host:port` endpoints, as every role's `--endpoint` flag gives them. */
import { invalidArgument } from './errors.js';

export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const m = /^([A-Za-z0-9.\-]+):(\d{1,5})$/.exec(endpoint);
  if (!m) throw invalidArgument(`endpoint '${endpoint}' must be host:port`, { field: 'endpoint' });
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw invalidArgument(`endpoint port ${port} is out of range`, { field: 'endpoint' });
  return { host: m[1]!, port };
}
