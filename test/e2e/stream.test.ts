// The stream transport end to end (issue 21): real daemons in namespaces; peer a behind a NAT
// router whose firewall drops all UDP. a reaches the hub over TCP on its own (--hub-transport
// auto), ping/ssh/iperf3 a <-> b work through the hub relay over a's TCP leg, a's status says why;
// the block lifted, a is back on UDP within 30 s while an ssh session runs across the switch; with
// only TCP 443 allowed out, a lands on TLS; then the hub under idle, half-open and garbage TCP
// connections keeps serving its members.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { describeRoot, toolsMissing } from '../helpers/root.js';
import { MeshLab, repoRoot, requireDist, runAsync, say, statusPeer, type StatusJson } from '../helpers/mesh-lab.js';
import { ssh, startSshd, type Sshd } from '../helpers/sshd.js';
import { describeIperf, iperfClient, startIperfServer } from '../helpers/iperf.js';

const tag = 'stream';
const tools = ['iperf3', 'sshd', 'ssh', 'ssh-keygen', 'openssl'];
const blockTable = 'meshd_s21';

interface HubTransport {
  leg: string;
  reason: string;
  switches: number;
}

/** a's data-channel mode toward `overlay` (--transport auto, peer/leg-channel-choice.ts). */
function channelModeOf(st: StatusJson, overlay: string): { mode: string; reason: string } | undefined {
  return (statusPeer(st, overlay) as { channelMode?: { mode: string; reason: string } } | undefined)?.channelMode;
}

function transportOf(st: StatusJson): HubTransport {
  const t = st.hubTransport as HubTransport | undefined;
  if (!t) throw new Error(`status has no hubTransport: ${JSON.stringify(st).slice(0, 300)}`);
  return t;
}

describeRoot('stream transport: a peer whose network blocks UDP (real daemons in namespaces)', () => {
  let m: MeshLab;
  let sshd: Sshd;

  /** Replaces a's router firewall: `rules` are nft statements for traffic from/to a's underlay. */
  const firewall = (rules: string[]): void => {
    const a = m.peer('a');
    m.lab.exec(a.router!, ['nft', 'delete', 'table', 'inet', blockTable], { allowFail: true });
    if (rules.length === 0) return;
    const text = [`table inet ${blockTable} {`, '  chain block { type filter hook forward priority -10; policy accept;', ...rules.map((r) => `    ${r}`), '  }', '}'].join('\n');
    m.lab.exec(a.router!, ['nft', '-f', '-'], { input: text });
  };
  const blockUdp = (): void => {
    const u = m.peer('a').underlay;
    firewall([`ip saddr ${u} meta l4proto udp drop`, `ip daddr ${u} meta l4proto udp drop`]);
  };

  beforeAll(async () => {
    requireDist();
    const missing = toolsMissing(tools);
    if (missing !== undefined) throw new Error(`${missing} (.ci/run installs it)`);
    m = await MeshLab.start(tag, {
      peers: [
        { name: 'a', placement: 'nat', noStart: true },
        { name: 'b', placement: 'nat' },
        { name: 'x', placement: 'public', noStart: true },
      ],
      hubArgs: ['--listen-tls', '443'],
    });
    blockUdp();
    say(tag, `a's router drops all UDP from and to ${m.peer('a').underlay}; starting a (--hub-transport auto)`);
    const d = m.peer('a').daemon;
    d.start();
    await d.waitMsg('registered with hub', {}, { timeoutMs: 30_000 });
    say(tag, 'a registered');
  }, 90_000);
  afterAll(() => m?.dispose());
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (m) console.log(`[${tag}] daemon logs at failure:\n${m.logs()}${sshd ? `\n----- sshd -----\n${sshd.log().slice(-2000)}` : ''}`);
    });
  });

  it('a registered over TCP, and its status says why', async () => {
    const t = transportOf(await m.status(m.peer('a').daemon));
    say(tag, `a's hub transport: ${JSON.stringify(t)}`);
    expect(t.leg).toBe('tcp');
    expect(t.reason).toMatch(/did not answer over UDP/);
    const hub = await m.status(m.hub);
    say(tag, `hub stream status: ${JSON.stringify(hub.stream)}`);
    expect((hub.stream as { connections: number }).connections).toBeGreaterThanOrEqual(1);
  });

  it('ping works both ways, ssh both ways, iperf3 a -> b completes', async () => {
    const a = m.peer('a');
    const b = m.peer('b');
    const ms = await m.waitPing('a', b.overlay, 20_000);
    say(tag, `first reply a -> b after ${ms} ms`);
    const ab = await m.ping('a', b.overlay, 5);
    const ba = await m.ping('b', a.overlay, 5);
    say(tag, `ping a -> b ${ab.received}/${ab.sent}, b -> a ${ba.received}/${ba.sent}: ${ab.out.split('\n').pop()}`);
    expect(ab.received, ab.out).toBe(5);
    expect(ba.received, ba.out).toBe(5);
    // Relayed over a's TCP leg: a sends datagrams to b (no KCP on top of TCP); b, on a clean UDP leg,
    // learns a's leg from a's PINGs (flag 64, peer/leg-caps.ts) and sends datagrams too.
    const ca = channelModeOf(await m.status(a.daemon), b.overlay);
    const cb = channelModeOf(await m.status(b.daemon), a.overlay);
    say(tag, `data channel a -> b ${JSON.stringify(ca)}, b -> a ${JSON.stringify(cb)}`);
    expect(ca).toMatchObject({ mode: 'datagram', reason: 'stream-leg' });
    expect(cb).toMatchObject({ mode: 'datagram', reason: 'stream-leg' });
    sshd = await startSshd(m, 'b');
    const r1 = await ssh(m, 'a', b.overlay, sshd.clientKey, 'echo hello-from-b');
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stdout).toContain('hello-from-b');
    const sshdA = await startSshd(m, 'a');
    const r2 = await ssh(m, 'b', a.overlay, sshdA.clientKey, 'echo hello-from-a');
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stdout).toContain('hello-from-a');
    say(tag, `ssh a -> b ${r1.ms} ms, b -> a ${r2.ms} ms`);
    const srv = await startIperfServer(m, 'b');
    const ip = await iperfClient(m, 'a', b.overlay, srv.port, { seconds: 3, timeoutMs: 40_000 });
    say(tag, `iperf3 a -> b over a's TCP leg: ${describeIperf(ip)}`);
    expect(ip.ok, ip.error).toBe(true);
    expect(ip.receivedBytes).toBeGreaterThan(1e5);
  }, 90_000);

  it('the UDP block lifted: a is back on UDP within 30 s and an ssh session survives the switch', async () => {
    const a = m.peer('a').daemon;
    const b = m.peer('b');
    // 18 lines a second apart: the session spans the switch (about 7 s after the block is lifted).
    const session = ssh(m, 'a', b.overlay, sshd.clientKey, 'for i in $(seq 1 18); do echo line$i; sleep 1; done', 60_000);
    await new Promise((r) => setTimeout(r, 2_000));
    const since = a.mark;
    firewall([]);
    const lifted = Date.now();
    say(tag, 'UDP block removed');
    const ev = await a.waitFor('hub transport switch to udp', (o) => o.to === 'udp' && o.from !== undefined, { since, timeoutMs: 30_000 });
    const took = Date.now() - lifted;
    say(tag, `a switched back to UDP after ${took} ms: ${String(ev.msg)}`);
    expect(took).toBeLessThan(30_000);
    const r = await session;
    say(tag, `ssh session across the switch: exit ${r.code}, ${r.stdout.trim().split('\n').length} lines`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('line18');
    const st = await m.status(a);
    const t = transportOf(st);
    expect(t.leg).toBe('udp');
    expect(t.reason).toMatch(/works again/);
    // The pair's data channel followed the leg back: KCP again (the ssh session kept it busy).
    const ch = channelModeOf(st, b.overlay);
    say(tag, `data channel a -> b after the switch: ${JSON.stringify(ch)}`);
    expect(ch?.mode).toBe('kcp');
    await a.waitFor('data channel switch to kcp', (o) => o.from === 'datagram' && o.to === 'kcp', { since, timeoutMs: 1_000 });
    // a announced its UDP leg (one PING): b's channel toward a is KCP again once b sends (a ping does).
    let cb: { mode: string; reason: string } | undefined;
    for (let i = 0; i < 10; i++) {
      await m.ping('b', m.peer('a').overlay, 1);
      cb = channelModeOf(await m.status(b.daemon), m.peer('a').overlay);
      if (cb?.mode === 'kcp') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    say(tag, `data channel b -> a after a's switch: ${JSON.stringify(cb)}`);
    expect(cb?.mode).toBe('kcp');
  }, 70_000);

  it('only TCP 443 allowed out of a\'s network: a lands on TLS and reaches b', async () => {
    const u = m.peer('a').underlay;
    firewall([`ip saddr ${u} meta l4proto != tcp drop`, `ip saddr ${u} tcp dport != 443 drop`, `ip daddr ${u} meta l4proto udp drop`]);
    say(tag, 'a may only open TCP 443; restarting a');
    await m.killPeer('a');
    const d = m.peer('a').daemon;
    const since = d.mark;
    const started = Date.now();
    d.start();
    await d.waitMsg('registered with hub', {}, { since, timeoutMs: 30_000 });
    say(tag, `a registered ${Date.now() - started} ms after its start`);
    const t = transportOf(await m.status(m.peer('a').daemon));
    say(tag, `a's hub transport: ${JSON.stringify(t)}`);
    expect(t.leg).toBe('tls');
    await m.waitPing('a', m.peer('b').overlay, 20_000);
    const ab = await m.ping('a', m.peer('b').overlay, 5);
    expect(ab.received, ab.out).toBe(5);
  }, 60_000);

  it('hostile: idle, half-open TLS and garbage connections against the hub; it keeps serving', async () => {
    const before = await m.status(m.hub);
    const flood = runAsync(m.peer('x').ns, [process.execPath, join(repoRoot, 'test', 'helpers', 'stream-flood.mjs'), '203.0.113.2', '7000', '443', '200', '11000'], 30_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const during = await m.ping('b', m.peer('a').overlay, 10);
    say(tag, `ping b -> a during the flood: ${during.received}/${during.sent}`);
    const f = await flood;
    say(tag, `flood: ${f.stdout.trim()} ${f.stderr.trim().slice(0, 300)}`);
    const after = await m.status(m.hub);
    const c0 = (before.stream as { counters: Record<string, number> }).counters;
    const c1 = (after.stream as { counters: Record<string, number> }).counters;
    say(tag, `hub stream counters before ${JSON.stringify(c0)} after ${JSON.stringify(c1)}`);
    expect(during.received).toBeGreaterThanOrEqual(9);
    // One address: past 8 at once (per IP) and 4 a second (accept rate), connections are refused.
    expect(c1.refusedPerIp! + c1.refusedRate! - c0.refusedPerIp! - c0.refusedRate!).toBeGreaterThan(100);
    // Which connections win the few accept slots (garbage, bad frames or idle ones) depends on
    // timing; either way the hub closed them, and none of the 200 idle ones is left open.
    expect(c1.closedBadFrame! + c1.closedUnproven! - c0.closedBadFrame! - c0.closedUnproven!).toBeGreaterThan(0);
    const result = JSON.parse(f.stdout.trim().split('\n').pop()!) as { idle: { stillOpen: number } };
    expect(result.idle.stillOpen).toBe(0);
    const ab = await m.ping('a', m.peer('b').overlay, 5);
    expect(ab.received, ab.out).toBe(5);
    expect((after.stream as { connections: number }).connections).toBeLessThan(20);
  }, 60_000);
});
