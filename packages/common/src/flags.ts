/**
 * gflags-style flags, as OpenMLDB's binaries take them: `--name=value`, `--name` (a bool set to
 * true), `--noname` (a bool set to false), and `--flagfile=FILE` whose lines (one flag each, `#`
 * comments) are read in place. Later flags win. Unknown flags and values of the wrong type are
 * refused with a message that names the flag, as gflags does.
 */
import { readFileSync } from 'node:fs';
import { TesseraError } from './errors.js';

export type FlagType = 'string' | 'int' | 'bool';

export interface FlagSpec<T extends FlagType = FlagType> {
  type: T;
  default: FlagValue<T>;
  doc: string;
}

type FlagValue<T extends FlagType> = T extends 'string' ? string : T extends 'int' ? number : boolean;

export type FlagSpecs = Record<string, FlagSpec>;
export type FlagValues<S extends FlagSpecs> = { [K in keyof S]: FlagValue<S[K]['type']> };

const FLAGFILE_DEPTH_MAX = 8;

/** Splits argv into `[name, value | undefined]` pairs, expanding flagfiles in place. */
function expand(args: readonly string[], depth: number, out: Array<[string, string | undefined]>): void {
  if (depth > FLAGFILE_DEPTH_MAX) throw new TesseraError('INVALID_ARGUMENT', 'flagfiles nest too deeply');
  for (const raw of args) {
    if (!raw.startsWith('-')) throw new TesseraError('INVALID_ARGUMENT', `unexpected argument '${raw}': flags look like --name=value`);
    const body = raw.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? undefined : body.slice(eq + 1);
    if (name === 'flagfile') {
      if (!value) throw new TesseraError('INVALID_ARGUMENT', '--flagfile needs a file');
      let text: string;
      try {
        text = readFileSync(value, 'utf8');
      } catch (err) {
        throw new TesseraError('INVALID_ARGUMENT', `cannot read flagfile ${value}: ${(err as Error).message}`);
      }
      const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('#'));
      expand(lines, depth + 1, out);
    } else {
      out.push([name, value]);
    }
  }
}

/** Parses argv against specs; returns every flag with its value or default. */
export function parseFlags<S extends FlagSpecs>(specs: S, argv: readonly string[]): FlagValues<S> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) values[name] = spec.default;
  const pairs: Array<[string, string | undefined]> = [];
  expand(argv, 0, pairs);
  for (const [rawName, value] of pairs) {
    let name = rawName;
    let spec = Object.prototype.hasOwnProperty.call(specs, name) ? specs[name] : undefined;
    let negated = false;
    if (!spec && name.startsWith('no') && value === undefined) {
      const base = name.slice(2);
      const baseSpec = Object.prototype.hasOwnProperty.call(specs, base) ? specs[base] : undefined;
      if (baseSpec?.type === 'bool') {
        spec = baseSpec;
        name = base;
        negated = true;
      }
    }
    if (!spec) throw new TesseraError('INVALID_ARGUMENT', `unknown command line flag '${rawName}'`);
    values[name] = negated ? false : parseValue(name, spec, value);
  }
  return values as FlagValues<S>;
}

function parseValue(name: string, spec: FlagSpec, value: string | undefined): string | number | boolean {
  switch (spec.type) {
    case 'bool': {
      if (value === undefined) return true;
      const v = value.toLowerCase();
      if (['true', '1', 'yes', 't', 'y'].includes(v)) return true;
      if (['false', '0', 'no', 'f', 'n'].includes(v)) return false;
      throw new TesseraError('INVALID_ARGUMENT', `illegal value '${value}' specified for bool flag '${name}'`);
    }
    case 'int': {
      if (value === undefined || !/^-?\d+$/.test(value)) {
        throw new TesseraError('INVALID_ARGUMENT', `illegal value '${value ?? ''}' specified for int flag '${name}'`);
      }
      const n = Number(value);
      if (!Number.isSafeInteger(n)) throw new TesseraError('INVALID_ARGUMENT', `value '${value}' of flag '${name}' is out of range`);
      return n;
    }
    case 'string':
      if (value === undefined) throw new TesseraError('INVALID_ARGUMENT', `flag '${name}' is missing its argument`);
      return value;
  }
}

/** `--help` text for a set of specs. */
export function flagsHelp(specs: FlagSpecs): string {
  return Object.entries(specs)
    .map(([name, s]) => `  --${name}=${s.type === 'string' ? `"${String(s.default)}"` : String(s.default)}  (${s.type}) ${s.doc}`)
    .join('\n');
}

/** The last value given for one flag (flagfiles expanded), without checking the others. */
export function findFlag(argv: readonly string[], name: string): string | undefined {
  const pairs: Array<[string, string | undefined]> = [];
  expand(argv, 0, pairs);
  let value: string | undefined;
  for (const [n, v] of pairs) if (n === name) value = v ?? 'true';
  return value;
}
