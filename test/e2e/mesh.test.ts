// meshd end to end (issue 6, "How to prove it", 1-3): real hub and peer daemons (dist/cli.js) in
// namespaces behind real nftables NATs, checked the way a user would: ping both ways, ssh running a
// command, an iperf3 TCP transfer; with both peers behind home NATs the data must go direct (the
// hub's link stays quiet), with both sides behind random-port symmetric NATs it must go through the
// relay (one symmetric side and one home NAT now go direct by birthday: test/e2e/nat-traversal.test.ts).
// Each scenario shares one mesh across its tests; a failing test prints every daemon's last lines.
import { afterAll, beforeAll, beforeEach, expect, it, describe } from 'vitest';
import { describeRoot, toolsMissing } from '../helpers/root.js';
import { MeshLab, relayBytes, relayPackets, requireDist, say, statusPeer, type MeshOptions, type StatusJson } from '../helpers/mesh-lab.js';
import { ssh, startSshd, type Sshd } from '../helpers/sshd.js';
import { describeIperf, iperfClient, startIperfServer, type IperfResult } from '../helpers/iperf.js';

const tools = ['iperf3', 'sshd', 'ssh', 'ssh-keygen'];

interface Scenario {
  m: MeshLab;
  sshd?: Sshd;
  iperf?: IperfResult;
  /** Hub link bytes (rx+tx) and hub status around the iperf3 run. */
  hubLinkDelta?: number;
  hubStatusBefore?: StatusJson | Error;
  hubStatusAfter?: StatusJson | Error;
}

/** Hub status, or the error (status may land after the daemons; its tests report it on their own). */
async function tryStatus(m: MeshLab, which: 'hub' | string): Promise<StatusJson | Error> {
  try {
    return await m.status(which === 'hub' ? m.hub : m.peer(which).daemon);
  } catch (e) {
    return e as Error;
  }
}

function need<T>(v: T | Error | undefined, what: string): T {
  if (v === undefined) throw new Error(`${what}: not measured (an earlier test in this scenario failed)`);
  if (v instanceof Error) throw new Error(`${what}: meshd status is not usable: ${v.message}`);
  return v;
}

/**
 * The user-level checks shared by every topology: ping both ways, ssh a -> b, iperf3 a -> b with
 * the hub's link bytes and status sampled around it.
 */
function userChecks(tag: string, opts: MeshOptions): () => Scenario {
  const s = {} as Scenario;

  beforeAll(async () => {
    requireDist();
    const missing = toolsMissing(tools);
    if (missing !== undefined) throw new Error(`${missing} (.ci/run installs it)`);
    s.m = await MeshLab.start(tag, opts);
  }, 60_000);
  afterAll(() => s.m?.dispose());
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (s.m) console.log(`[${tag}] daemon logs at failure:\n${s.m.logs()}${s.sshd ? `\n----- sshd -----\n${s.sshd.log().slice(-2000)}` : ''}`);
    });
  });

  it('ping works both ways over the overlay', async () => {
    const { m } = s;
    const a = m.peer('a');
    const b = m.peer('b');
    say(tag, `ping ${a.overlay} -> ${b.overlay} until the first reply (bounded 20 s)`);
    const ms = await m.waitPing('a', b.overlay, 20_000);
    say(tag, `first reply a -> b after ${ms} ms`);
    const ab = await m.ping('a', b.overlay, 5);
    say(tag, `a -> b: ${ab.received}/${ab.sent}`);
    expect(ab.received, ab.out).toBe(5);
    await m.waitPing('b', a.overlay, 10_000);
    const ba = await m.ping('b', a.overlay, 5);
    say(tag, `b -> a: ${ba.received}/${ba.sent}`);
    expect(ba.received, ba.out).toBe(5);
  });

  it('ssh from a to b runs a command', async () => {
    const { m } = s;
    s.sshd = await startSshd(m, 'b');
    say(tag, `sshd listening in b; ssh root@${m.peer('b').overlay} 'echo hello from $(hostname -I)'`);
    const r = await ssh(m, 'a', m.peer('b').overlay, s.sshd.clientKey, 'echo hello; ip -br addr show mtun0');
    say(tag, `ssh exit ${r.code} after ${r.ms} ms: ${r.stdout.trim().replace(/\n/g, ' | ')} ${r.stderr.trim()}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('hello');
    expect(r.stdout).toContain(m.peer('b').overlay);
  });

  it('an iperf3 TCP transfer a -> b completes', async () => {
    const { m } = s;
    const srv = await startIperfServer(m, 'b');
    s.hubStatusBefore = await tryStatus(m, 'hub');
    const before = await m.hubLinkBytes();
    say(tag, `iperf3 -c ${m.peer('b').overlay} -t 3 from a`);
    s.iperf = await iperfClient(m, 'a', m.peer('b').overlay, srv.port, { seconds: 3, timeoutMs: 40_000 });
    s.hubLinkDelta = (await m.hubLinkBytes()) - before;
    s.hubStatusAfter = await tryStatus(m, 'hub');
    say(tag, `iperf3 ${describeIperf(s.iperf)}; hub link carried ${(s.hubLinkDelta / 1e6).toFixed(2)} MB meanwhile`);
    expect(s.iperf.ok, s.iperf.error).toBe(true);
    expect(s.iperf.receivedBytes).toBeGreaterThan(1e6);
  });

  return () => s;
}

describeRoot('meshd end to end (real daemons in namespaces)', () => {
  describe('1. all peers public', () => {
    userChecks('public', { peers: [{ name: 'a', placement: 'public' }, { name: 'b', placement: 'public' }] });
  });

  describe('2. a and b each behind its own home NAT: the data goes direct', () => {
    const get = userChecks('2nat', { peers: [{ name: 'a', placement: 'nat' }, { name: 'b', placement: 'nat' }] });

    it('the peers log a direct path to each other, and the hub link stays quiet during iperf3', async () => {
      const s = get();
      const { m } = s;
      await m.waitPath('a', 'b', 'direct', { timeoutMs: 15_000 });
      await m.waitPath('b', 'a', 'direct', { timeoutMs: 15_000 });
      say('2nat', `logged paths now: a->b ${m.lastPath('a', 'b')}, b->a ${m.lastPath('b', 'a')}`);
      expect(m.lastPath('a', 'b')).toBe('direct');
      expect(m.lastPath('b', 'a')).toBe('direct');
      const iperf = s.iperf;
      if (iperf === undefined || s.hubLinkDelta === undefined) throw new Error('iperf3 did not run');
      // Control traffic (heartbeats, map) is a few KB; relaying would put every byte on the hub link twice.
      expect(s.hubLinkDelta, `hub link bytes during a ${iperf.receivedBytes} B transfer`).toBeLessThan(Math.max(200_000, iperf.receivedBytes * 0.02));
    });

    it('status: peers show path direct; hub relay bytes stay near zero while iperf3 moves MBs', async () => {
      const s = get();
      const { m } = s;
      const before = need(s.hubStatusBefore, 'hub status before iperf3');
      const after = need(s.hubStatusAfter, 'hub status after iperf3');
      expect(after.role).toBe('hub');
      const relayDelta = relayBytes(after) - relayBytes(before);
      say('2nat', `hub relay bytes ${relayBytes(before)} -> ${relayBytes(after)} (delta ${relayDelta}) while iperf3 moved ${s.iperf?.receivedBytes} B`);
      expect(relayDelta, 'the hub status reports relayed bytes').not.toBeNaN();
      expect(relayDelta).toBeLessThan(Math.max(100_000, (s.iperf?.receivedBytes ?? 0) * 0.01));
      for (const [from, to] of [['a', 'b'], ['b', 'a']] as const) {
        const st = await m.status(m.peer(from).daemon);
        expect(st.role).toBe('peer');
        const entry = statusPeer(st, m.peer(to).overlay, to);
        say('2nat', `${from}'s status for ${to}: ${JSON.stringify(entry)}`);
        expect(entry, `${from}'s status lists ${to}`).toBeDefined();
        expect(entry!.path).toBe('direct');
        if (from === 'a') expect(Number(entry!.txBytes)).toBeGreaterThan(s.iperf?.receivedBytes ?? 1e6);
      }
    });
  });

  describe('3. a and b behind symmetric (random-port) NATs: the relay carries it', () => {
    const get = userChecks('sym', { peers: [{ name: 'a', placement: 'symmetric' }, { name: 'b', placement: 'symmetric' }] });

    it('the path is not direct and the data crossed the hub link', () => {
      const s = get();
      const { m } = s;
      say('sym', `logged paths: a->b ${m.lastPath('a', 'b') ?? '(none logged)'}, b->a ${m.lastPath('b', 'a') ?? '(none logged)'}`);
      expect(m.lastPath('a', 'b')).not.toBe('direct');
      expect(m.lastPath('b', 'a')).not.toBe('direct');
      const iperf = s.iperf;
      if (iperf === undefined || s.hubLinkDelta === undefined) throw new Error('iperf3 did not run');
      // Relayed: every byte enters and leaves the hub (so roughly twice the payload on its link).
      expect(s.hubLinkDelta).toBeGreaterThan(iperf.receivedBytes * 1.5);
    });

    it('status: the peers show path relay and the hub counts relayed bytes', async () => {
      const s = get();
      const { m } = s;
      const before = need(s.hubStatusBefore, 'hub status before iperf3');
      const after = need(s.hubStatusAfter, 'hub status after iperf3');
      const relayDelta = relayBytes(after) - relayBytes(before);
      say('sym', `hub relay bytes ${relayBytes(before)} -> ${relayBytes(after)} (delta ${relayDelta}), packets ${relayPackets(before)} -> ${relayPackets(after)}`);
      expect(relayDelta).toBeGreaterThan((s.iperf?.receivedBytes ?? 1e6) * 0.9);
      for (const [from, to] of [['a', 'b'], ['b', 'a']] as const) {
        const st = await m.status(m.peer(from).daemon);
        const entry = statusPeer(st, m.peer(to).overlay, to);
        say('sym', `${from}'s status for ${to}: ${JSON.stringify(entry)}`);
        expect(entry?.path).toBe('relay');
      }
    });
  });
});
