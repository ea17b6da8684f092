/**
 * Tab completion of the interactive ns_client (node's readline completer): the first word
 * completes to command names, later words to table names of the current database — or database
 * names after `use` and `dropdb`. `complete` is pure; the names are fetched per Tab press
 * (`CompletionSource`, ZooKeeper and the nameserver in the real client).
 */

/** Commands whose arguments are database names, not table names. */
const DB_ARG_COMMANDS = new Set(['use', 'dropdb']);

export interface CompletionNames {
  commands: readonly string[];
  tables: readonly string[];
  dbs: readonly string[];
}

/** Where the names come from (read at each Tab press). */
export interface CompletionSource {
  /** Table names of database `db`. */
  tables(db: string): Promise<string[]>;
  dbs(): Promise<string[]>;
}

/** readline's answer for `line`: the candidates and the word they complete. */
export function complete(line: string, names: CompletionNames): [string[], string] {
  const words = line.trimStart().split(/\s+/);
  const word = words[words.length - 1] ?? '';
  const pool = words.length <= 1 ? names.commands : DB_ARG_COMMANDS.has(words[0]!.toLowerCase()) ? names.dbs : names.tables;
  const hits = [...new Set(pool.filter((n) => n.startsWith(word)))].sort();
  return [hits, word];
}

/** A readline completer over `source`; names it cannot read complete to nothing. */
export function completer(commands: readonly string[], source: CompletionSource | undefined, currentDb: () => string): (line: string, callback: (err: null, result: [string[], string]) => void) => void {
  return (line, callback) => {
    const needsNames = line.trimStart().split(/\s+/).length > 1;
    if (!needsNames || !source) {
      callback(null, complete(line, { commands, tables: [], dbs: [] }));
      return;
    }
    const db = currentDb();
    Promise.all([db === '' ? Promise.resolve([]) : source.tables(db), source.dbs()]).then(
      ([tables, dbs]) => callback(null, complete(line, { commands, tables, dbs })),
      () => callback(null, complete(line, { commands, tables: [], dbs: [] })),
    );
  };
}
