// Who owns which overlay address and name, with real daemons in namespaces (issue 16.2/16.3, issue
// 17 H1; RELIABILITY.md "Red-team findings: H1"): peers without --name get numbered host names,
// a peer refused a taken name retries and joins once the operator frees it, peers without --local
// get stable addresses, and after kill -9 of the hub a third key cannot take pb's address or name.
import { hostname } from 'node:os';
import { expect, it } from 'vitest';
import { describeRoot } from '../helpers/root.js';
import { cliPath, requireDist, runAsync, say, withMesh, type MeshLab } from '../helpers/mesh-lab.js';

const host = hostname().split('.')[0] ?? 'peer';
const isRefusal = (o: Record<string, unknown>) => typeof o.code === 'string' && o.code.startsWith('HUB_REFUSED_');

async function hubRelease(m: MeshLab, target: string): Promise<string> {
  const r = await runAsync(null, [process.execPath, cliPath, 'hub', 'release', target, '--state-dir', m.hub.stateDir], 10_000);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

describeRoot('identity: names and addresses the hub binds to keys (real daemons in namespaces)', () => {
  it('(a) two peers without --name on one host get distinct names; (b) a third with a taken --name retries and joins once the name is freed', async () => {
    requireDist();
    await withMesh('names', {
      peers: [
        { name: 'n1', placement: 'public', omitName: true },
        { name: 'n2', placement: 'public', omitName: true },
        { name: 'n3', placement: 'public', noStart: true, extraArgs: ['--name', host] },
      ],
    }, async (m) => {
      const names = await Promise.all(['n1', 'n2'].map(async (n) => String((await m.peer(n).daemon.waitMsg('registered with hub')).name)));
      say('names', `host name "${host}": n1 got "${names[0]}", n2 got "${names[1]}"`);
      expect([...names].sort()).toEqual([host, `${host}-2`]);
      const st = await m.status(m.peer('n1').daemon);
      expect(st.name).toBe(names[0]);
      await m.waitPing('n1', m.peer('n2').overlay, 20_000);
      await m.waitPing('n2', m.peer('n1').overlay, 20_000);

      const holder = names[0] === host ? 'n1' : 'n2';
      const n3 = m.peer('n3').daemon;
      n3.start();
      const first = await n3.waitFor('a refusal', isRefusal);
      say('names', `n3 --name ${host}: ${String(first.msg)} (level ${String(first.level)})`);
      expect(first.code).toBe('HUB_REFUSED_NAME_TAKEN');
      expect(first.level).toBe(40); // warn: an explicit name someone holds waits for an operator
      await n3.waitFor('a second refusal (a retry)', (o) => isRefusal(o) && o.refusals === 2, { timeoutMs: 10_000 });
      expect(n3.running).toBe(true);
      await m.peer(holder).daemon.kill('SIGTERM');
      say('names', `holder ${holder} stopped with SIGTERM; its name stays bound to its key`);
      const mark = n3.mark;
      await n3.waitFor('a refusal after the holder left', isRefusal, { since: mark, timeoutMs: 20_000 });
      const out = await hubRelease(m, host);
      say('names', `meshd hub release ${host}: ${out}`);
      const reg = await n3.waitMsg('registered with hub', {}, { timeoutMs: 90_000 });
      say('names', `n3 registered as ${String(reg.name)} ${String(reg.overlay)}`);
      expect(reg.name).toBe(host);
      const other = holder === 'n1' ? 'n2' : 'n1';
      await m.waitPing('n3', m.peer(other).overlay, 20_000);
    });
  }, 240_000);

  it('(c) two peers without --local get distinct addresses, ping each other, and a restarted one keeps its address', async () => {
    requireDist();
    await withMesh('assign', {
      peers: [
        { name: 'x1', placement: 'nat', omitLocal: true },
        { name: 'x2', placement: 'nat', omitLocal: true },
      ],
    }, async (m) => {
      const addr = async (n: string, since = 0) => String((await m.peer(n).daemon.waitMsg('registered with hub', {}, { since })).overlay).split('/')[0]!;
      const [a1, a2] = [await addr('x1'), await addr('x2')];
      say('assign', `x1 got ${a1}, x2 got ${a2}`);
      expect(a1).not.toBe(a2);
      expect(a1).toMatch(/^10\.9\.0\.\d+$/);
      await m.waitPing('x1', a2, 20_000);
      await m.waitPing('x2', a1, 20_000);
      const since = m.peer('x1').daemon.mark;
      await m.killPeer('x1', 'SIGTERM');
      m.peer('x1').daemon.start();
      const again = await addr('x1', since);
      say('assign', `x1 restarted: ${again}`);
      expect(again).toBe(a1);
      await m.waitPing('x2', a1, 20_000);
    });
  }, 180_000);

  it('(d) H1: after kill -9 of the hub a third key with pb\'s address and name is refused; pb rejoins and answers pa', async () => {
    requireDist();
    await withMesh('h1', {
      peers: [
        { name: 'pa', placement: 'public' },
        { name: 'pb', placement: 'public' },
        { name: 'evil', placement: 'public', noStart: true, extraArgs: ['--local', '10.9.0.3/24', '--name', 'pb'] },
      ],
    }, async (m) => {
      const pb = m.peer('pb');
      expect(pb.overlay).toBe('10.9.0.3');
      await m.waitPing('pa', '10.9.0.3', 20_000);
      // pb sleeps (a laptop lid, an ISP outage) while the hub dies and comes back.
      process.kill(pb.daemon.pid!, 'SIGSTOP');
      const paSince = m.peer('pa').daemon.mark;
      await m.killHub('SIGKILL');
      await m.restartHub();
      say('h1', 'hub killed with SIGKILL and restarted; pb is stopped (SIGSTOP); evil starts with --local 10.9.0.3/24 --name pb');
      const evil = m.peer('evil').daemon;
      evil.start();
      const refused = await evil.waitFor('a refusal', isRefusal, { timeoutMs: 20_000 });
      say('h1', `evil: ${String(refused.msg)}`);
      expect(refused.code).toBe('HUB_REFUSED_ADDRESS_IN_USE');
      expect(refused.level).toBe(50);
      const since = pb.daemon.mark;
      process.kill(pb.daemon.pid!, 'SIGCONT');
      await pb.daemon.waitMsg('hub-client: registered', {}, { since, timeoutMs: 60_000 });
      say('h1', 'pb registered again');
      // pa finds the restarted hub at its next heartbeat (up to 20 s): wait for that, not a race.
      await m.peer('pa').daemon.waitMsg('hub-client: registered', {}, { since: paSince, timeoutMs: 60_000 });
      const st = await m.status(m.hub);
      const owner = (st.members ?? []).find((x) => String(x.address ?? '').split('/')[0] === '10.9.0.3');
      expect(owner?.name).toBe('pb');
      expect((st.members ?? []).map((x) => x.name).sort()).toEqual(['pa', 'pb']);
      const before = (await m.status(pb.daemon)).traffic as { rxPackets: number };
      const r = await m.ping('pa', '10.9.0.3', 5);
      const after = (await m.status(pb.daemon)).traffic as { rxPackets: number };
      say('h1', `pa -> 10.9.0.3: ${r.received}/${r.sent}; pb received ${after.rxPackets - before.rxPackets} packets`);
      expect(r.received).toBeGreaterThan(0);
      expect(after.rxPackets - before.rxPackets).toBeGreaterThanOrEqual(r.received);
      expect(evil.seen((o) => o.msg === 'registered with hub')).toEqual([]);
    });
  }, 180_000);
});
