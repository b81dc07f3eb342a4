// IPv6 inside the overlay (issue 22, part 2) with real daemons in namespaces over an IPv4 underlay:
// the hub has --network6 (a ULA /64), peer a takes the hub's assignment (its v4 address's twin),
// peer b (behind a home NAT) asks for its own --local6. Checked as a user would: ping -6 both ways,
// ssh to b's v6 address, iperf3 over v6 and over v4 at the same time, meshd ping and status by v6
// address; and a spoofed v6 inner source (an extra address on a's TUN) is dropped and counted by b.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeRoot, toolsMissing } from '../helpers/root.js';
import { cliPath, MeshLab, requireDist, runAsync, say, type StatusJson } from '../helpers/mesh-lab.js';
import { ssh, startSshd } from '../helpers/sshd.js';
import { describeIperf, iperfClient, startIperfServer } from '../helpers/iperf.js';

const tag = 'v6o';
const NET6 = 'fd00:9:0:1::/64';
const A6 = 'fd00:9:0:1::a09:2'; // a is 10.9.0.2: the hub gives it the twin
const B6 = 'fd00:9:0:1:1::b'; // b's own --local6
const SPOOF6 = 'fd00:9:0:1:2::66';

interface State {
  m: MeshLab;
}

function meshd(args: string[], timeoutMs = 30_000): ReturnType<typeof runAsync> {
  return runAsync(null, [process.execPath, cliPath, ...args], timeoutMs);
}

describeRoot('IPv6 overlay (real daemons in namespaces, IPv4 underlay)', () => {
  const s = {} as State;

  beforeAll(async () => {
    requireDist();
    const missing = toolsMissing(['iperf3', 'sshd', 'ssh', 'ssh-keygen', 'ping']);
    if (missing !== undefined) throw new Error(`${missing} (.ci/run installs it)`);
    s.m = await MeshLab.start(tag, {
      hubArgs: ['--network6', NET6],
      peers: [
        { name: 'a', placement: 'public' },
        { name: 'b', placement: 'nat', extraArgs: ['--local6', `${B6}/64`] },
      ],
    });
  }, 60_000);
  afterAll(() => s.m?.dispose());
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (s.m) console.log(`[${tag}] daemon logs at failure:\n${s.m.logs()}`);
    });
  });

  it('status shows both families: the hub assigned a its twin and took b\'s --local6', async () => {
    const { m } = s;
    const st = (await m.status(m.peer('a').daemon)) as StatusJson & { address6?: string; peers: Array<{ address: string; address6?: string }> };
    say(tag, `a: ${String(st.address)} ${String(st.address6)}; peers ${JSON.stringify(st.peers.map((p) => [p.address, p.address6]))}`);
    expect(st.address6).toBe(`${A6}/64`);
    expect(st.peers.find((p) => p.address === m.peer('b').overlay)?.address6).toBe(B6);
    const hub = (await m.status(m.hub)) as StatusJson & { members?: Array<{ address: string; address6?: string }> };
    expect(hub.members?.map((x) => x.address6).sort()).toEqual([A6, B6].sort());
    const addr = await runAsync(m.peer('b').ns, ['ip', '-6', '-br', 'addr', 'show', 'mtun0'], 5000);
    say(tag, `b's TUN: ${addr.stdout.trim()}`);
    expect(addr.stdout).toContain(`${B6}/64`);
  });

  it('ping -6 works both ways between the overlay v6 addresses', async () => {
    const { m } = s;
    const ms = await m.waitPing('a', B6, 20_000);
    say(tag, `first v6 reply a -> b after ${ms} ms`);
    const ab = await m.ping('a', B6, 5);
    expect(ab.received, ab.out).toBe(5);
    await m.waitPing('b', A6, 10_000);
    const ba = await m.ping('b', A6, 5);
    say(tag, `ping -6: a -> b ${ab.received}/${ab.sent}, b -> a ${ba.received}/${ba.sent}`);
    expect(ba.received, ba.out).toBe(5);
  });

  it('meshd ping resolves a peer by its v6 address', async () => {
    const r = await meshd(['ping', B6, '--count', '2', '--state-dir', s.m.peer('a').daemon.stateDir], 20_000);
    say(tag, `meshd ping ${B6} -> ${r.code}: ${r.stdout.trim().replace(/\n/g, ' | ')}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/^pong /gm) ?? []).toHaveLength(2);
  });

  it('ssh to b over its v6 overlay address runs a command', async () => {
    const { m } = s;
    const sshd = await startSshd(m, 'b', ['-o', 'ListenAddress=[::]:22']);
    try {
      const r = await ssh(m, 'a', B6, sshd.clientKey, 'echo hello6; ip -6 -br addr show mtun0');
      say(tag, `ssh root@${B6}: exit ${r.code} ${r.stdout.trim().replace(/\n/g, ' | ')} ${r.stderr.trim()}`);
      expect(r.code, `${r.stderr}\n${sshd.log().slice(-1000)}`).toBe(0);
      expect(r.stdout).toContain('hello6');
      expect(r.stdout).toContain(B6);
    } finally {
      sshd.child.kill('SIGKILL');
    }
  });

  it('iperf3 over v6 and over v4 at the same time both complete', async () => {
    const { m } = s;
    const srv6 = await startIperfServer(m, 'b');
    const srv4 = await startIperfServer(m, 'b');
    say(tag, `iperf3 -c ${B6} and -c ${m.peer('b').overlay} from a, 3 s each, concurrently`);
    const [r6, r4] = await Promise.all([
      iperfClient(m, 'a', B6, srv6.port, { seconds: 3, timeoutMs: 40_000 }),
      iperfClient(m, 'a', m.peer('b').overlay, srv4.port, { seconds: 3, timeoutMs: 40_000 }),
    ]);
    say(tag, `v6: ${describeIperf(r6)}`);
    say(tag, `v4: ${describeIperf(r4)}`);
    expect(r6.ok, r6.error).toBe(true);
    expect(r4.ok, r4.error).toBe(true);
    // Completion is the point (no rate is asserted): a loaded CI machine moves far less than 1 MB.
    expect(r6.receivedBytes).toBeGreaterThan(100_000);
    expect(r4.receivedBytes).toBeGreaterThan(100_000);
    const st = (await m.status(m.peer('a').daemon)) as StatusJson & { traffic: { txPackets: number }; traffic6?: { txPackets: number } };
    say(tag, `a's status traffic: ${st.traffic.txPackets} packets out, ${st.traffic6?.txPackets} of them IPv6`);
    expect(st.traffic6?.txPackets).toBeGreaterThan(50);
    expect(st.traffic.txPackets - (st.traffic6?.txPackets ?? 0)).toBeGreaterThan(50);
  });

  it("a spoofed v6 inner source is dropped and counted by the receiver, not delivered", async () => {
    const { m } = s;
    const a = m.peer('a');
    const dropsOf = async () => Number(((await m.status(m.peer('b').daemon)) as StatusJson & { drops: Record<string, number> }).drops.spoofed_source ?? 0);
    const before = await dropsOf();
    // Another source on a's own TUN: the kernel sends from it into meshd, which carries it to b.
    const add = await runAsync(a.ns, ['ip', '-6', 'addr', 'add', `${SPOOF6}/128`, 'dev', 'mtun0', 'nodad'], 5000);
    expect(add.code, add.stderr).toBe(0);
    const r = await runAsync(a.ns, ['ping', '-6', '-n', '-q', '-c', '3', '-i', '0.2', '-W', '1', '-I', SPOOF6, B6], 10_000);
    const after = await dropsOf();
    say(tag, `ping -6 -I ${SPOOF6} ${B6}: ${r.stdout.trim().split('\n').at(-2) ?? ''}; b's spoofed_source ${before} -> ${after}`);
    expect(r.stdout).toMatch(/3 packets transmitted, 0 received/);
    expect(after - before).toBeGreaterThanOrEqual(3);
  });
});
