// The network secret option (config/parse.ts): where the secret's text comes from (--secret-file,
// MESHD_SECRET, the default file, or none for a peer that joins by invite), creating the default
// file on a hub, the loose-permissions notice, and the weak-secret check. Pure apart from the
// context's injected file reads and creation.
import { ConfigError } from '../util/errors.js';
import { classifySecret, MIN_PASSPHRASE_CHARS } from '../crypto/secret.js';
import { defaultSecretPath, secretFileDefault } from './secret-file.js';
import { joinedHub } from './join-source.js';
import type { Role } from './schema.js';
import { str, type ParseContext, type RawOptions } from './option-values.js';

function readSecretFile(path: string, option: string, ctx: ParseContext): string {
  try {
    return ctx.readText(path);
  } catch (e) {
    throw new ConfigError(option, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Warns when a secret file is readable by group or others (as ssh and wg do for keys). */
function checkSecretMode(path: string, ctx: ParseContext): void {
  const mode = ctx.fileMode?.(path);
  if (mode !== undefined && (mode & 0o077) !== 0) {
    ctx.notice?.('warn', `the network secret ${path} is readable by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod 600 ${path}`, { secretFile: path });
  }
}

/**
 * The secret's text: --secret-file, else MESHD_SECRET, else the default file (/etc/meshd/secret or
 * MESHD_SECRET_FILE). A hub with none creates the default file; a peer with none is told where to
 * get it. The text must be raw key material or a passphrase that is not weak (crypto/secret.ts).
 */
export function secret(role: Role, raw: RawOptions, ctx: ParseContext): string {
  const file = str(raw, 'secretFile');
  let text: string;
  let from: string;
  if (file !== undefined) {
    text = readSecretFile(file, '--secret-file', ctx);
    from = file;
    checkSecretMode(file, ctx);
  } else if (role === 'peer' && (raw.join !== undefined || joinedHub(str(raw, 'stateDir') ?? '/var/lib/meshd', ctx) !== undefined)) {
    // A peer that joins by invite (--join) or joined before (<state-dir>/joined.json) runs on the
    // psk the hub sent (peer/join-run.ts), not on a default secret file that may belong elsewhere.
    return '';
  } else if (ctx.env.MESHD_SECRET !== undefined) {
    text = ctx.env.MESHD_SECRET;
    from = 'MESHD_SECRET';
  } else {
    const path = secretFileDefault(ctx.env);
    from = path;
    let missing = false;
    try {
      text = ctx.readText(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new ConfigError('--secret-file', `cannot read the network secret ${path}: ${code ?? String(e)}`);
      missing = true;
      text = '';
    }
    if (missing && role === 'peer') {
      throw new ConfigError('--secret-file', `no network secret: ${path} does not exist; copy it from the hub (scp HUB:${defaultSecretPath} ${path}) or give --secret-file FILE`);
    }
    if (missing) {
      if (!ctx.createSecret) throw new ConfigError('--secret-file', `no network secret: ${path} does not exist (give --secret-file FILE or set MESHD_SECRET)`);
      try {
        text = ctx.createSecret(path);
      } catch (e) {
        throw new ConfigError('--secret-file', `no network secret at ${path} and cannot create it: ${(e as NodeJS.ErrnoException).code ?? String(e)} (run as root, or give --secret-file FILE)`);
      }
      ctx.notice?.('warn', `created the network secret ${path}; every peer needs a copy of it (scp ${path} PEER:${defaultSecretPath})`, { secretFile: path });
    } else {
      checkSecretMode(path, ctx);
    }
  }
  const s = text.trim();
  const kind = classifySecret(s);
  if (kind.kind === 'weak') {
    const where = from === 'MESHD_SECRET' ? '' : `${from}: `;
    throw new ConfigError(from === 'MESHD_SECRET' ? 'MESHD_SECRET' : '--secret-file', `${where}the network secret is ${kind.why}; use 32 random bytes (meshd gensecret > FILE) or a passphrase of ${MIN_PASSPHRASE_CHARS}+ characters of two kinds or more`);
  }
  return s;
}
