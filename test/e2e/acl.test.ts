// ACLs and revocation with real daemons in namespaces (issue 25): the hub's --acl policy "tag web
// may receive tcp/80 from everyone; nothing else" is enforced by the receiving peer (B): TCP to B:80
// from A works (and A's replies pass its own firewall as a flow it opened), TCP to B:22 is dropped
// and counted on B, and a SIGHUP'd policy that also allows 22 takes effect within a map delta.
// `meshd hub revoke b` while A and B are direct: B's traffic stops at A within 5 s, B cannot
// register again, and a hub restart does not bring it back. Scoped maps: a third peer C, which like A
// may only reach B, is not in A's map (nor A in C's).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeRoot } from '../helpers/root.js';
import { cliPath, requireDist, runAsync, say, withMesh, type MeshLab } from '../helpers/mesh-lab.js';
import { waitForLine } from '../helpers/netns.js';

/** A TCP server on the peer's overlay address answering "hi <port>" on each given port. */
async function tcpServer(m: MeshLab, peer: string, ports: number[]): Promise<void> {
  const p = m.peer(peer);
  const script = `const net=require('net');let n=0;for(const port of ${JSON.stringify(ports)})net.createServer(s=>{s.on('error',()=>{});s.end('hi '+port)}).listen(port,'${p.overlay}',()=>{if(++n===${ports.length})console.log('listening')});`;
  await waitForLine(m.lab.spawn(p.ns, process.execPath, ['-e', script]), /listening/);
}

/** Connects from `from` to host:port; "hi PORT" on success, else "fail: <why>" (timeout 2 s). */
async function tcpProbe(m: MeshLab, from: string, host: string, port: number): Promise<string> {
  const script = `const s=require('net').connect(${port},'${host}');let d='';s.setTimeout(2000,()=>{console.log('fail: timeout');process.exit(0)});s.on('data',x=>d+=x);s.on('end',()=>{console.log(d);process.exit(0)});s.on('error',e=>{console.log('fail: '+e.code);process.exit(0)});`;
  const r = await runAsync(m.peer(from).ns, [process.execPath, '-e', script], 10_000);
  return r.stdout.trim();
}

async function aclOf(m: MeshLab, peer: string): Promise<{ mode: string; version: number; drops: Record<string, number> }> {
  return (await m.status(m.peer(peer).daemon)).acl as { mode: string; version: number; drops: Record<string, number> };
}

async function until<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describeRoot('acl: the hub\'s policy enforced by the receiving peer (real daemons in namespaces)', () => {
  it('tag web receives tcp/80 from everyone, nothing else; replies of own flows pass; SIGHUP reload', async () => {
    requireDist();
    const dir = mkdtempSync(join(tmpdir(), 'meshd-acl-'));
    try {
      const policyFile = join(dir, 'acl.json');
      const policy = (ports: number[]) => JSON.stringify({ tags: { web: ['b'] }, rules: [{ from: '*', to: 'tag:web', proto: 'tcp', ports }] });
      writeFileSync(policyFile, policy([80]));
      await withMesh('acl', { peers: [{ name: 'a', placement: 'public' }, { name: 'b', placement: 'public' }, { name: 'c', placement: 'public' }], hubArgs: ['--acl', policyFile] }, async (m) => {
        const b = m.peer('b');
        await tcpServer(m, 'b', [80, 22]);
        await until('b enforces the policy', 10_000, async () => ((await aclOf(m, 'b'))?.mode === 'enforce' ? true : undefined));
        // Scoped maps (docs/ACL.md): a and c may both reach b, never each other: neither lists the other.
        const peersOf = async (p: string) => ((await m.status(m.peer(p).daemon)).peers ?? []).map((x) => x.name).sort();
        const seesB = (p: string) => until(`${p}'s map has b`, 10_000, async () => {
          const names = await peersOf(p);
          return names.includes('b') ? names : undefined;
        });
        const [aSees, cSees] = await Promise.all([seesB('a'), seesB('c')]);
        say('acl', `scoped maps: a lists ${JSON.stringify(aSees)}, c lists ${JSON.stringify(cSees)}`);
        expect(aSees).toEqual(['b']);
        expect(cSees).toEqual(['b']);
        expect((await m.status(m.hub)).acl).toMatchObject({ maps: 'scoped' });
        const web = await until('a reaches b:80', 15_000, async () => {
          const r = await tcpProbe(m, 'a', b.overlay, 80);
          return r.startsWith('hi') ? r : undefined;
        });
        say('acl', `a -> b:80: "${web}" (a's replies passed a's firewall as its own flow)`);
        expect(web).toBe('hi 80');
        const before = await aclOf(m, 'b');
        expect(await tcpProbe(m, 'a', b.overlay, 22)).toBe('fail: timeout');
        const after = await aclOf(m, 'b');
        say('acl', `a -> b:22 refused; b's ACL drops ${JSON.stringify(before.drops)} -> ${JSON.stringify(after.drops)}`);
        expect(after.drops.default!).toBeGreaterThan(before.drops.default!);
        expect(((await m.status(b.daemon)).drops as Record<string, number>).acl_denied).toBeGreaterThan(0);
        // b -> a: a has no rule, so a new connection from b is dropped at a.
        expect(await tcpProbe(m, 'b', m.peer('a').overlay, 9)).toBe('fail: timeout');
        // SIGHUP with 22 allowed too: within a map delta b takes it.
        writeFileSync(policyFile, policy([80, 22]));
        const t0 = Date.now();
        process.kill(m.hub.pid!, 'SIGHUP');
        await until('b takes the reloaded policy', 5_000, async () => ((await aclOf(m, 'b')).version > after.version ? true : undefined));
        say('acl', `SIGHUP -> b's policy v${after.version} replaced in ${Date.now() - t0} ms (status polling included)`);
        expect(await tcpProbe(m, 'a', b.overlay, 22)).toBe('hi 22');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('meshd hub revoke b: b\'s direct traffic stops at a within 5 s, b cannot register again, a hub restart keeps it out', async () => {
    requireDist();
    await withMesh('revoke', { peers: [{ name: 'a', placement: 'public' }, { name: 'b', placement: 'public' }] }, async (m) => {
      const a = m.peer('a');
      const b = m.peer('b');
      const pingOnce = async () => (await runAsync(b.ns, ['ping', '-c', '1', '-W', '1', a.overlay], 5_000)).code === 0;
      await until('b reaches a', 15_000, async () => ((await pingOnce()) ? true : undefined));
      await m.waitPath('b', 'a', 'direct', { timeoutMs: 20_000 });
      say('revoke', 'a and b direct; b pings a');
      const bMark = b.daemon.mark;
      const r = await runAsync(null, [process.execPath, cliPath, 'hub', 'revoke', 'b', '--state-dir', m.hub.stateDir], 10_000);
      expect(r.code, r.stderr).toBe(0);
      const t0 = Date.now();
      say('revoke', r.stdout.trim());
      // b's pings to a stop: the first failure within 5 s, and none gets through afterwards.
      await until('b\'s traffic to a stops', 5_000, async () => ((await pingOnce()) ? undefined : true));
      const stoppedMs = Date.now() - t0;
      say('revoke', `b's pings to a stopped ${stoppedMs} ms after revoke returned`);
      expect(stoppedMs).toBeLessThan(5_000);
      for (let i = 0; i < 3; i++) expect(await pingOnce()).toBe(false);
      const refusal = await b.daemon.waitFor('b refused by the hub', (o) => o.code === 'HUB_REFUSED_KEY_NOT_ALLOWED', { since: bMark, timeoutMs: 30_000 });
      say('revoke', `b's log: ${String(refusal.msg)} (${String(refusal.err ?? refusal.why ?? '')})`);
      // A restarted hub reads revoked.json: b stays out, its handshakes refused and counted.
      await m.killHub('SIGTERM');
      await m.restartHub();
      // a comes back at its next heartbeat; b's retries meet the restarted hub's refusal meanwhile.
      const st = await until('a registered again and b refused by the restarted hub', 60_000, async () => {
        const x = await m.status(m.hub);
        const seen = (x.members ?? []).map((p) => p.name);
        return seen.includes('a') && (x.drops as Record<string, number>).control_revoked_handshake! > 0 ? x : undefined;
      });
      const names = (st.members ?? []).map((p) => p.name);
      say('revoke', `after the hub restart: members ${JSON.stringify(names)}, drops ${JSON.stringify(Object.fromEntries(Object.entries(st.drops as Record<string, number>).filter(([, n]) => n > 0)))}`);
      expect(names).toContain('a');
      expect(names).not.toContain('b');
      expect((st.drops as Record<string, number>).control_revoked_handshake).toBeGreaterThan(0);
      expect(await pingOnce()).toBe(false);
    });
  }, 120_000);
});
