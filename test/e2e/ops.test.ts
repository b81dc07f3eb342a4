// Operating meshd end to end (issue 7, "How to prove it"): a real hub and two real peers (dist/cli.js)
// in namespaces. Peer a comes from MeshLab; peer c is started here the way an operator would: from a
// --config file (no --log-level flag), with --metrics on 127.0.0.1 inside its namespace. Checked as a
// user would: `meshd status --json` on both sides, `meshd ping --until-direct`, the metrics page
// fetched from inside c's namespace, SIGHUP changing the log level, and a timed SIGTERM: exit 0
// within 2 s, the hub forgets c at once (goodbye), c's TUN device is gone.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeRoot } from '../helpers/root.js';
import { Daemon, MeshLab, cliPath, hubAddress, hubPort, requireDist, runAsync, say } from '../helpers/mesh-lab.js';

const tag = 'ops';
const metricsListen = '127.0.0.1:9101';
const cOverlay = '10.9.0.9';

interface Ops {
  m: MeshLab;
  c: Daemon;
  cNs: string;
  cState: string;
  cConfig: string;
}

function writeConfig(path: string, logLevel: string, extra: Record<string, unknown> = {}): void {
  const cfg = { $comment: 'ops e2e peer c', hub: `${hubAddress}:${hubPort}`, local: `${cOverlay}/24`, name: 'c', tun: 'mtun0', logLevel, ...extra };
  writeFileSync(path, `${JSON.stringify(cfg, null, 2)}\n`);
}

function meshd(args: string[], timeoutMs = 30_000): ReturnType<typeof runAsync> {
  return runAsync(null, [process.execPath, cliPath, ...args], timeoutMs);
}

describeRoot('meshd operations: status, ping, metrics, SIGHUP, SIGTERM (hub + 2 peers)', () => {
  const s = {} as Ops;

  beforeAll(async () => {
    requireDist();
    s.m = await MeshLab.start(tag, { peers: [{ name: 'a', placement: 'public' }] });
    const { m } = s;
    try {
      // Peer c: public, in its own /29 (k=6 in MeshLab's plan, unused with one peer).
      s.cNs = m.lab.host('c');
      m.lab.link(s.cNs, m.inet, '198.51.100.50/29', '198.51.100.49/29');
      m.lab.route(s.cNs, 'default', '198.51.100.49');
      s.cState = join(m.dir, 'peer-c');
      mkdirSync(s.cState, { recursive: true });
      s.cConfig = join(m.dir, 'peer-c.json');
      writeConfig(s.cConfig, 'info');
      s.c = new Daemon('peer c', s.cNs, s.cState, ['peer', '--config', s.cConfig, '--secret-file', m.secretFile, '--state-dir', s.cState, '--metrics', metricsListen], m.lab);
      s.c.start();
      await s.c.waitMsg('registered with hub');
      await s.c.waitMsg('metrics listening');
      say(tag, `peer c registered (pid ${s.c.pid}), metrics at ${metricsListen} in ${s.cNs}`);
    } catch (e) {
      console.log(`${m.logs()}\n${s.c?.tail() ?? ''}`);
      m.dispose();
      throw e;
    }
  }, 60_000);

  afterAll(() => s.m?.dispose());

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (s.m) console.log(`[${tag}] daemon logs at failure:\n${s.m.logs()}\n${s.c?.tail() ?? ''}`);
    });
  });

  it('meshd ping --until-direct returns with a direct reply', async () => {
    const r = await meshd(['ping', 'a', '--until-direct', '--state-dir', s.cState], 40_000);
    say(tag, `meshd ping a --until-direct -> ${r.code} in ${r.ms} ms:\n${r.stdout}${r.stderr}`);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-2) ?? '').toMatch(/direct/);
    // and by address, plain ping (not until-direct): every pong answered
    const r2 = await meshd(['ping', '10.9.0.2', '--count', '3', '--state-dir', s.cState], 20_000);
    say(tag, `meshd ping 10.9.0.2 --count 3 -> ${r2.code}:\n${r2.stdout}${r2.stderr}`);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stdout.match(/^pong /gm) ?? []).toHaveLength(3);
  });

  it('meshd status --json shows the peer and the hub members; the table renders', async () => {
    // Real traffic first, so the counters have something to count.
    await s.m.waitPing('a', cOverlay);
    const peerStatus = (await s.m.status(s.c)) as unknown as { role: string; name: string; address: string; hub: { registered: boolean }; peers: { name: string; address: string; path: string | null; txPackets: number; rxPackets: number }[] };
    expect(peerStatus).toMatchObject({ role: 'peer', name: 'c', address: `${cOverlay}/24`, hub: { registered: true } });
    const a = peerStatus.peers.find((p) => p.name === 'a');
    expect(a).toMatchObject({ address: '10.9.0.2', path: 'direct' });
    expect(a!.rxPackets).toBeGreaterThan(0);
    const hubStatus = (await s.m.status(s.m.hub)) as unknown as { role: string; members: { name: string }[] };
    expect(hubStatus.role).toBe('hub');
    expect(hubStatus.members.map((x) => x.name).sort()).toEqual(['a', 'c']);
    for (const [what, dir] of [['peer c', s.cState], ['hub', s.m.hub.stateDir]] as const) {
      const t = await meshd(['status', '--state-dir', dir], 10_000);
      say(tag, `meshd status (${what}):\n${t.stdout}${t.stderr}`);
      expect(t.code, t.stderr).toBe(0);
    }
  });

  it('the metrics page, fetched inside the peer namespace, counts the traffic', async () => {
    const fetchMetrics = `fetch('http://${metricsListen}/metrics').then(async (r) => { process.stdout.write(r.status + '\\n' + r.headers.get('content-type') + '\\n' + await r.text()); })`;
    const r = await runAsync(s.cNs, [process.execPath, '-e', fetchMetrics], 10_000);
    expect(r.code, r.stderr).toBe(0);
    const [status, type, ...body] = r.stdout.split('\n');
    expect(status).toBe('200');
    expect(type).toMatch(/^text\/plain/);
    const text = body.join('\n');
    say(tag, `metrics (meshd_ lines):\n${text.split('\n').filter((l) => l.startsWith('meshd_')).join('\n')}`);
    const value = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
    expect(value(/^meshd_packets_total\{peer="10\.9\.0\.2",direction="in",path="direct"\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^meshd_bytes_total\{peer="10\.9\.0\.2",direction="out",path="direct"\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^meshd_handshakes_total\{result="completed"\} (\d+)/m)).toBeGreaterThan(0);
    for (const name of ['meshd_drops_total', 'meshd_kcp_retransmits_total']) expect(text).toContain(`# TYPE ${name} counter`);
    // Not reachable from outside the namespace: it listens on c's own loopback.
    const outside = await runAsync(s.m.hubNs, [process.execPath, '-e', `fetch('http://${metricsListen}/metrics').then(() => process.exit(0), () => process.exit(3))`], 10_000);
    expect(outside.code).toBe(3);
  });

  it('SIGHUP re-reads the config: the log level changes at run time, other changes need a restart', async () => {
    const { c } = s;
    // A garbage datagram to c's UDP port is dropped and logged at debug by the link component.
    const st = (await s.m.status(c)) as unknown as { listen: string };
    const port = Number(st.listen.split(':')[1]);
    const junk = `const d = require('node:dgram').createSocket('udp4'); d.send(Buffer.from('not meshd at all'), ${port}, '127.0.0.1', () => d.close());`;
    const sendJunk = async (): Promise<void> => {
      const r = await runAsync(s.cNs, [process.execPath, '-e', junk], 5000);
      expect(r.code, r.stderr).toBe(0);
    };
    await sendJunk();
    await new Promise((r) => setTimeout(r, 300));
    expect(c.seen((o) => o.level === 20, 0)).toHaveLength(0); // at info: no debug lines so far
    const before = c.mark;
    // debug, and a change that cannot apply at run time.
    writeConfig(s.cConfig, 'debug', { mtu: 1300 });
    say(tag, `peer c config now: ${readFileSync(s.cConfig, 'utf8').replace(/\s+/g, ' ')}`);
    process.kill(c.pid!, 'SIGHUP');
    const reloaded = await c.waitFor('SIGHUP reload line', (o) => typeof o.msg === 'string' && o.msg.startsWith('SIGHUP: config reloaded'), { since: before, timeoutMs: 5000 });
    say(tag, `peer c on SIGHUP: ${JSON.stringify(reloaded)}`);
    expect(reloaded).toMatchObject({ applied: ['logLevel'], needsRestart: ['mtu'], logLevel: { from: 'info', to: 'debug' } });
    // Debug lines from the components' child loggers now appear.
    await sendJunk();
    const debug = await c.waitFor('a debug line from a component', (o) => o.level === 20 && typeof o.component === 'string', { since: before, timeoutMs: 10_000 });
    say(tag, `first debug line after SIGHUP: ${JSON.stringify(debug).slice(0, 200)}`);
    // A broken file is refused and the daemon keeps running.
    writeFileSync(s.cConfig, '{ broken');
    const mark = c.mark;
    process.kill(c.pid!, 'SIGHUP');
    await c.waitMsg('SIGHUP: config not reloaded; keeping the running one', {}, { since: mark, timeoutMs: 5000 });
    expect(c.running).toBe(true);
    writeConfig(s.cConfig, 'info');
  });

  it('SIGTERM: exit 0 within 2 s, the hub drops the peer at once (goodbye), the TUN device is gone', async () => {
    const { c, m } = s;
    expect(await runAsync(s.cNs, ['ip', 'link', 'show', 'mtun0'], 5000)).toMatchObject({ code: 0 });
    const started = Date.now();
    await c.kill('SIGTERM', 5000);
    const ms = Date.now() - started;
    say(tag, `peer c: SIGTERM -> ${c.lastExit} after ${ms} ms`);
    expect(c.lastExit).toBe('exit code=0 signal=null');
    expect(ms).toBeLessThan(2000);
    // Straight away, well inside the hub's expiry time: only a goodbye explains c being gone.
    const hubStatus = (await m.status(m.hub)) as unknown as { members: { name: string }[] };
    expect(hubStatus.members.map((x) => x.name)).toEqual(['a']);
    const tun = await runAsync(s.cNs, ['ip', 'link', 'show', 'mtun0'], 5000);
    expect(tun.code).not.toBe(0);
    expect(tun.stderr).toMatch(/does not exist/);
    // a hears about it through the hub's map push (bounded wait: one map round trip).
    let names: string[] = [];
    for (let i = 0; i < 30; i++) {
      const aStatus = (await m.status(m.peer('a').daemon)) as unknown as { peers: { name: string }[] };
      names = aStatus.peers.map((p) => p.name);
      if (!names.includes('c')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(names).not.toContain('c');
  });
});

