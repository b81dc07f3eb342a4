// The hub's TLS certificate for --listen-tls: self-signed, made once with the openssl CLI and kept in
// the state directory (hub-tls.key, hub-tls.crt, written atomically). TLS only makes meshd look like
// HTTPS to networks that pass nothing else; peers do not check it, Noise authenticates the hub.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/write-atomic.js';
import { MeshdError } from '../util/errors.js';

export function tlsCertPaths(stateDir: string): { key: string; cert: string } {
  return { key: join(stateDir, 'hub-tls.key'), cert: join(stateDir, 'hub-tls.crt') };
}

/** The key and certificate PEM from the state directory, generated there when either is missing. */
export function ensureTlsCert(stateDir: string): { key: string; cert: string } {
  const p = tlsCertPaths(stateDir);
  try {
    return { key: readFileSync(p.key, 'utf8'), cert: readFileSync(p.cert, 'utf8') };
  } catch {
    // missing or unreadable: make a new pair below
  }
  const tmp = mkdtempSync(join(stateDir, '.tls-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650', '-subj', '/CN=meshd', '-keyout', join(tmp, 'k'), '-out', join(tmp, 'c')],
      { stdio: 'ignore', timeout: 30_000 },
    );
    const key = readFileSync(join(tmp, 'k'), 'utf8');
    const cert = readFileSync(join(tmp, 'c'), 'utf8');
    // The key first: a crash between the two leaves no certificate, and the next start makes both again.
    writeFileAtomic(p.key, key, 0o600);
    writeFileAtomic(p.cert, cert, 0o644);
    return { key, cert };
  } catch (e) {
    throw new MeshdError('TLS_CERT', `cannot make a TLS certificate in ${stateDir} with openssl: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
