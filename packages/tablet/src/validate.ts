/**
 * The tablet routes' field checks: common's one field validator (common/src/fields.ts), under
 * the names the routes use. Each refusal is INVALID_ARGUMENT naming the field.
 */
import { fields } from '@tessera/common';

export const { uint, optUint, int, str, optStr, endpoint, optEndpoint, tidPid } = fields;
/** A list of distinct `host:port` endpoints (followers, in-sync sets); [] when absent. */
export const strList = fields.endpointSet;
