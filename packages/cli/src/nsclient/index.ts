/** Public face of the ns_client module: the entry point, command runner, parsers and table output. */
export { runNsClient, type NsClientOptions } from './repl.js';
export { runCommand, formatResult, COMMAND_NAMES, type CommandContext, type CommandResult, type OutputFormat } from './commands.js';
export { tokenize, splitCommands, parsePidGroup, parseTtl, parseShortCreate, parseTableMetaFile } from './parse.js';
export { renderTable, renderNumberedTable, formatAge, formatBytes } from './table-format.js';
