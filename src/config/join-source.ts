// Where a peer that joins by invite finds its hub when --hub is not given (config/parse.ts): the
// invite token's first address, or the one <state-dir>/joined.json kept from the join. Pure apart
// from the parser's injected readText.
import { join } from 'node:path';
import { readInviteToken } from '../crypto/invite.js';
import { ConfigError, DecodeError } from '../util/errors.js';

/** The token's first hub address, or undefined when it names none; ConfigError for a bad token. */
export function tokenHub(text: string): string | undefined {
  try {
    return readInviteToken(text).addresses[0];
  } catch (e) {
    throw new ConfigError('--join', e instanceof DecodeError ? `${e.message} [${e.code}]` : String(e));
  }
}

/** The hub address saved in <state-dir>/joined.json, or undefined when there is none (or no such file). */
export function joinedHub(stateDir: string, ctx: { readText(path: string): string }): string | undefined {
  let text: string;
  try {
    text = ctx.readText(join(stateDir, 'joined.json'));
  } catch {
    return undefined;
  }
  try {
    const hub = (JSON.parse(text) as { hub?: unknown }).hub;
    return Array.isArray(hub) && typeof hub[0] === 'string' ? hub[0] : undefined;
  } catch {
    return undefined;
  }
}
