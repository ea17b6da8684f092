/** Public face of @tessera/cli: the ns_client command line (its flags and runner) for the role launcher. */
export { NS_CLIENT_FLAGS, runNsClientCommandLine, runNsClientRole, type NsClientRoleOptions } from './ns-client-role.js';
