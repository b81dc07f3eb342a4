// Invites with real daemons in namespaces (issue 25): `meshd hub invite c` at the running hub prints
// a token; peer c, started with `--join TOKEN` and no secret file anywhere (no --secret-file, no
// --hub, no --name), registers and pings peer a (which runs on the network secret); a restart of c
// without the token works from its state dir; the same token on peer d is refused, the reason in
// d's log and d exits non-zero, and so is a token bound (--for-key) to another machine's key. Then `meshd hub invite` runs in a loop while the hub is killed with
// SIGKILL: invites.json still parses and holds every token that was printed, and the restarted hub
// lets c back in. (A revoked key replaying its handshake: test/e2e/acl.test.ts, revoke case.)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseInvites } from '../../src/hub/invite-store.js';
import { describeRoot } from '../helpers/root.js';
import { cliPath, Daemon, requireDist, runAsync, say, withMesh, type MeshLab } from '../helpers/mesh-lab.js';

async function until<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function invite(m: MeshLab, args: string[]): Promise<{ code: number; token: string; stderr: string }> {
  const r = await runAsync(null, [process.execPath, cliPath, 'hub', 'invite', ...args, '--state-dir', m.hub.stateDir], 10_000);
  return { code: r.code ?? -1, token: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** Replaces a noStart peer's daemon with one that runs `meshd peer` with `args` (no secret flags). */
function joiner(m: MeshLab, name: string, args: string[]): Daemon {
  const p = m.peer(name);
  const stateDir = join(m.dir, `peer-${name}`);
  p.daemon = new Daemon(`peer ${name}`, p.ns, stateDir, ['peer', '--state-dir', stateDir, '--tun', 'mtun0', '--log-level', 'debug', ...args], m.lab);
  return p.daemon;
}

describeRoot('invite: join without the network secret (real daemons in namespaces)', () => {
  it('a peer joins by token and pings; a restart needs no token; reuse is refused with the reason; kill -9 during invite keeps invites.json whole', async () => {
    requireDist();
    await withMesh(
      'invite',
      {
        peers: [
          { name: 'a', placement: 'public' },
          { name: 'c', placement: 'nat', noStart: true },
          { name: 'd', placement: 'public', noStart: true },
        ],
      },
      async (m) => {
        const inv = await invite(m, ['c']);
        expect(inv.code, inv.stderr).toBe(0);
        expect(inv.token).toMatch(/^meshd1-[A-Za-z0-9_-]+$/);
        say('invite', `meshd hub invite c -> ${inv.token.slice(0, 24)}... (${inv.token.length} chars); ${inv.stderr.split('\n')[0]}`);

        // c: no secret file, no --hub, no --name (with --join a default secret file is not read either).
        const cState = join(m.dir, 'peer-c');
        const c = joiner(m, 'c', ['--join', inv.token]);
        c.start();
        const reg = await c.waitMsg('registered with hub', {}, { timeoutMs: 30_000 });
        say('invite', `c registered by invite as ${String(reg.name ?? '')} ${String(reg.overlay ?? reg.address ?? '')}`);
        expect(readdirSync(cState).filter((f) => /secret/.test(f))).toEqual([]);
        expect(statSync(join(cState, 'joined.json')).mode & 0o777).toBe(0o600);
        expect(c.args.join(' ')).not.toMatch(/secret/);
        const a = m.peer('a');
        const pingA = async (ns: string) => (await runAsync(ns, ['ping', '-c', '1', '-W', '1', a.overlay], 5_000)).code === 0;
        await until('c pings a over the overlay', 20_000, async () => ((await pingA(m.peer('c').ns)) ? true : undefined));
        say('invite', `c -> a (${a.overlay}) ping ok`);
        const hubSt = await m.status(m.hub);
        expect((hubSt.members ?? []).map((p) => p.name).sort()).toEqual(['a', 'c']);

        // Restart c without the token: joined.json is enough.
        await c.kill('SIGTERM');
        const c2 = joiner(m, 'c', []);
        c2.start();
        await c2.waitMsg('registered with hub', {}, { timeoutMs: 30_000 });
        await until('c pings a after a restart without the token', 20_000, async () => ((await pingA(m.peer('c').ns)) ? true : undefined));
        say('invite', 'c restarted without --join: registered and pings a');

        // d with the same token: refused, the reason in its log, exit non-zero.
        const d = joiner(m, 'd', ['--join', inv.token]);
        d.start();
        const refused = await d.waitFor('d told the invite is used', (o) => o.code === 'JOIN_USED', { timeoutMs: 30_000 });
        say('invite', `d's log: ${String(refused.msg)}`);
        expect(String(refused.msg)).toMatch(/already used/);
        await until('d exits', 10_000, async () => (d.running ? undefined : true));
        expect(d.lastExit).toMatch(/code=1/);
        expect(existsSync(join(m.dir, 'peer-d', 'joined.json'))).toBe(false);

        // A token bound with --for-key to another machine's key, captured by d before use: useless to d.
        const owner = await runAsync(null, [process.execPath, cliPath, 'genkey'], 10_000);
        const ownerPub = (await runAsync(null, ['sh', '-c', `echo ${owner.stdout.trim()} | ${process.execPath} ${cliPath} pubkey`], 10_000)).stdout.trim();
        const bound = await invite(m, ['laptop', '--for-key', ownerPub]);
        expect(bound.code, bound.stderr).toBe(0);
        const d2 = joiner(m, 'd', ['--join', bound.token]);
        d2.start();
        const wrong = await d2.waitFor('d told the invite is bound to another key', (o) => o.code === 'JOIN_WRONG_KEY', { timeoutMs: 30_000 });
        say('invite', `d with a token bound to ${ownerPub.slice(0, 12)}...: ${String(wrong.msg)}`);
        await until('d exits', 10_000, async () => (d2.running ? undefined : true));
        const boundId = Buffer.from(bound.token.slice(7), 'base64url').subarray(41, 49).toString('hex');
        const invPath = join(m.hub.stateDir, 'invites.json');
        expect(parseInvites(readFileSync(invPath, 'utf8'), invPath).find((v) => v.id === boundId)?.redeemed).toEqual([]);
        const hubDrops = (await m.status(m.hub)).drops as Record<string, number>;
        say('invite', `hub drops: ${JSON.stringify(Object.fromEntries(Object.entries(hubDrops).filter(([k]) => k.includes('join'))))}`);
        expect(Object.entries(hubDrops).some(([k, n]) => k.endsWith('join_refused') && n >= 2)).toBe(true);

        // kill -9 of the hub while `meshd hub invite` runs in a loop (bounded: 40 tries or the kill).
        const path = join(m.hub.stateDir, 'invites.json');
        const printed: string[] = [];
        let killed = false;
        const loop = (async () => {
          for (let i = 0; i < 40 && !killed; i++) {
            const r = await invite(m, [`x${i}`, '--ttl', '1h']);
            if (r.code === 0) printed.push(r.token);
          }
        })();
        await until('a few invites printed', 30_000, async () => (printed.length >= 3 ? true : undefined));
        await new Promise((r) => setTimeout(r, 40 + Math.floor(Math.random() * 120)));
        await m.killHub('SIGKILL');
        killed = true;
        await loop;
        const list = parseInvites(readFileSync(path, 'utf8'), path);
        const ids = new Set(list.map((v) => v.id));
        const printedIds = printed.map((t) => Buffer.from(t.slice(7), 'base64url').subarray(41, 49).toString('hex'));
        say('invite', `hub killed after ${printed.length} printed tokens; invites.json parses with ${list.length} invites`);
        for (const id of printedIds) expect(ids.has(id)).toBe(true);
        // The restarted hub reads it and c (enrolled) comes back.
        await m.restartHub();
        await until('c registered at the restarted hub', 60_000, async () => {
          const st = await m.status(m.hub).catch(() => undefined);
          return st && (st.members ?? []).some((p) => p.name === 'c') ? true : undefined;
        });
        say('invite', 'restarted hub loaded invites.json; c registered again');
      },
    );
  }, 180_000);
});
