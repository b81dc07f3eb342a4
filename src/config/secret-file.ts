// Where the network secret lives when no flag names it (/etc/meshd/secret, or MESHD_SECRET_FILE),
// and how the hub creates one on first start: 32 random bytes, base64, mode 0600 in a 0700
// directory, written atomically (a reader sees no file or the whole one; an existing file, even a
// dangling symlink, is never replaced). `meshd gensecret` prints the same form. Used by the CLI.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createFileAtomic } from './write-atomic.js';

/** Read by both roles when neither --secret-file nor MESHD_SECRET is given. */
export const defaultSecretPath = '/etc/meshd/secret';

/** The default path, or MESHD_SECRET_FILE when set (tests use it to stay out of /etc). */
export function secretFileDefault(env: Readonly<Record<string, string | undefined>>): string {
  const v = env.MESHD_SECRET_FILE?.trim();
  return v !== undefined && v !== '' ? v : defaultSecretPath;
}

/** A new secret's text: base64 of 32 random bytes (secret.ts reads it as raw key material). */
export function generateSecretText(): string {
  return randomBytes(32).toString('base64');
}

/** Creates the secret file at `path` (its directory 0700 if missing); returns the text. Throws the
 * fs error (EEXIST when something is already there). */
export function createSecretFile(path: string): string {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const text = generateSecretText();
  createFileAtomic(path, `${text}\n`, 0o600);
  return text;
}
