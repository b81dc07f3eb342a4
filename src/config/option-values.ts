// The config parser's inputs (config/parse.ts): the raw options (config-file keys merged with flags),
// the context it is given (environment, host name, injected file reads, notices), and the typed
// readers of one option (string, one-of, integer, list, boolean). Each error is a ConfigError naming
// the option's flag. No option's meaning lives here: that is parse.ts and the *-options.ts files.
import { ConfigError } from '../util/errors.js';
import { options } from './schema.js';

export interface ParseContext {
  env: Readonly<Record<string, string | undefined>>;
  hostname: string;
  readText(path: string): string;
  /** Permission bits of a file (for the loose-secret warning); absent: not checked. */
  fileMode?(path: string): number | undefined;
  /** Hub only: creates the secret file at the default path when there is none, returns its text. */
  createSecret?(path: string): string;
  /** Lines to log once the logger exists (loose secret permissions, a created secret). */
  notice?(level: 'warn' | 'info', msg: string, fields?: Record<string, unknown>): void;
}

export type RawOptions = Readonly<Record<string, unknown>>;

export function flagOf(key: string): string {
  return options.find((o) => o.key === key)?.flag ?? key;
}

export function str(raw: RawOptions, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(flagOf(key), 'must be a non-empty string');
  return v.trim();
}

export function oneOf<T extends string>(raw: RawOptions, key: string, allowed: readonly T[], def: T): T {
  const v = str(raw, key) ?? def;
  if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(flagOf(key), `must be one of ${allowed.join(', ')} (got "${v}")`);
  return v as T;
}

/** An optional integer option in [min, max]. */
export function intOpt(raw: RawOptions, key: string, flag: string, min: number, max: number): number | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(flag, `must be an integer from ${min} to ${max} (got "${String(v)}")`);
  return n;
}

/** A list option: "a,b" from a flag, or a JSON array from a config file. */
export function listOpt(raw: RawOptions, key: string): string[] {
  const v = raw[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((x) => typeof x === 'string')) throw new ConfigError(flagOf(key), 'must be a string or a list of strings');
  return (list as string[]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
}

/** A boolean option: true from a flag, true/false from a config file. */
export function boolOpt(raw: RawOptions, key: string): boolean {
  const v = raw[key];
  if (v === undefined || v === null || v === false || v === 'false') return false;
  if (v === true || v === 'true') return true;
  throw new ConfigError(flagOf(key), `must be true or false (got "${String(v)}")`);
}
