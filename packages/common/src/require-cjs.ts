/**
 * Loads a CommonJS package (or one module of it) when first needed rather than at import: what
 * common defers so that a process pays only for what it uses (fastify and prom-client in servers
 * only, http-server.ts and metrics.ts; undici's Pool without its index, http-client.ts).
 * Resolved from common's own dependencies.
 */
import { createRequire } from 'node:module';

export const requireCjs = createRequire(import.meta.url);
