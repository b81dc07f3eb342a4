// Issue 16.1 with the real default path, once, as root: `meshd hub` with no secret anywhere creates
// /etc/meshd/secret (0600, directory 0700) and starts; peers started without --secret-file read
// that file and ping each other. Any /etc/meshd/secret (and /etc/meshd) that existed before is put
// back afterwards, on every exit path.
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { classifySecret } from '../../src/crypto/secret.js';
import { defaultSecretPath } from '../../src/config/secret-file.js';
import { describeRoot } from '../helpers/root.js';
import { requireDist, say, withMesh } from '../helpers/mesh-lab.js';

const dir = '/etc/meshd';

describeRoot('the default network secret /etc/meshd/secret (real daemons in namespaces)', () => {
  it('a hub with no secret creates /etc/meshd/secret; peers without --secret-file read it and ping each other', async () => {
    requireDist();
    const hadDir = existsSync(dir);
    const saved = existsSync(defaultSecretPath) ? { data: readFileSync(defaultSecretPath), mode: statSync(defaultSecretPath).mode & 0o777 } : undefined;
    const env = { secret: process.env.MESHD_SECRET, file: process.env.MESHD_SECRET_FILE };
    delete process.env.MESHD_SECRET;
    delete process.env.MESHD_SECRET_FILE;
    try {
      rmSync(defaultSecretPath, { force: true });
      await withMesh('secretdef', { peers: [{ name: 'a', placement: 'public' }, { name: 'b', placement: 'nat' }], defaultSecret: true, pinHubKey: true }, async (m) => {
        const created = m.hub.seen((o) => typeof o.msg === 'string' && o.msg.startsWith('created the network secret'));
        say('secretdef', `hub: ${String(created[0]?.obj?.msg)}`);
        expect(created).toHaveLength(1);
        expect(String(created[0]!.obj!.msg)).toContain(defaultSecretPath);
        expect(statSync(defaultSecretPath).mode & 0o777).toBe(0o600);
        if (!hadDir) expect(statSync(dir).mode & 0o777).toBe(0o700);
        expect(classifySecret(readFileSync(defaultSecretPath, 'utf8').trim()).kind).toBe('key');
        const ms = await m.waitPing('a', m.peer('b').overlay, 20_000);
        say('secretdef', `a -> b answered after ${ms} ms, both peers on the secret the hub made`);
      });
    } finally {
      rmSync(defaultSecretPath, { force: true });
      if (saved) {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        writeFileSync(defaultSecretPath, saved.data, { mode: saved.mode });
      } else if (!hadDir) {
        try {
          rmdirSync(dir);
        } catch {
          // not empty: something else lives there now; leave it
        }
      }
      if (env.secret !== undefined) process.env.MESHD_SECRET = env.secret;
      if (env.file !== undefined) process.env.MESHD_SECRET_FILE = env.file;
    }
  }, 120_000);
});
