// Subnet routes, exit nodes and DNS end to end (issue 23): real daemons in namespaces.
//   a  offers 192.168.50.0/24 (admitted), 192.168.60.0/24 (not admitted) and an exit node (admitted);
//      behind it a LAN host 192.168.50.10 and, on its own uplink only, a "web" host 203.0.113.194
//   b  --accept-routes --exit-node a
//   c  --accept-routes (the spoof target, and b's direct peer)
//   d  --exit-node a --hub-transport tcp (its hub session rides TCP, which must stay off the tunnel)
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeRoot, toolsMissing } from '../helpers/root.js';
import { Daemon, hubAddress, hubPort, MeshLab, requireDist, runAsync, say, statusPeer, type StatusJson } from '../helpers/mesh-lab.js';

const tag = 'routes';
const lanHost = '192.168.50.10';
const webHost = '203.0.113.194';
const aUplink = '203.0.113.193';

interface RouteRow {
  route: string;
  via: string;
  state: string;
  why: string;
  packets: number;
}

function routesOf(st: StatusJson): { routes: RouteRow[]; exitNode: string | null } {
  return st.routes as { routes: RouteRow[]; exitNode: string | null };
}

async function sh(ns: string, script: string, timeoutMs = 15_000): Promise<{ code: number | null; out: string }> {
  const r = await runAsync(ns, ['sh', '-c', script], timeoutMs);
  return { code: r.code, out: (r.stdout + r.stderr).trim() };
}

/** Polls `check` (bounded) until it returns true. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (let i = 0; Date.now() < end && i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

async function exitRules(ns: string): Promise<string[]> {
  const r = await sh(ns, 'ip rule show');
  return r.out.split('\n').filter((l) => /^527[0-2]:/.test(l));
}

describeRoot('subnet routes, exit nodes and DNS (issue 23)', () => {
  let m: MeshLab;

  beforeAll(async () => {
    requireDist();
    const missing = toolsMissing(['socat', 'dig']);
    if (missing !== undefined) throw new Error(`${missing} (.ci/run installs it)`);
    m = await MeshLab.start(tag, {
      hubArgs: ['--allow-routes', 'a:192.168.50.0/24,a:exit'],
      peers: [
        { name: 'a', placement: 'public', extraArgs: ['--advertise-routes', '192.168.50.0/24,192.168.60.0/24', '--advertise-exit-node'] },
        { name: 'b', placement: 'public', extraArgs: ['--accept-routes', '--exit-node', 'a'] },
        { name: 'c', placement: 'public', extraArgs: ['--accept-routes'] },
        { name: 'd', placement: 'public', extraArgs: ['--exit-node', 'a', '--hub-transport', 'tcp'] },
      ],
    });
    const a = m.peer('a').ns;
    const lan = m.lab.host('lan');
    m.lab.link(a, lan, '192.168.50.1/24', `${lanHost}/24`);
    const web = m.lab.host('web');
    m.lab.link(a, web, `${aUplink}/29`, `${webHost}/29`);
    say(tag, `LAN host ${lanHost} behind a (no route back to the overlay: a masquerades); web ${webHost} only on a's uplink`);
    m.lab.spawn(lan, 'socat', ['TCP-LISTEN:9000,reuseaddr,fork', 'SYSTEM:wc -c']);
    m.lab.spawn(web, 'socat', ['TCP-LISTEN:8080,reuseaddr,fork', 'SYSTEM:echo $SOCAT_PEERADDR']);
  }, 60_000);
  afterAll(() => m?.dispose());
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      if (m) console.log(`[${tag}] daemon logs at failure:\n${m.logs()}`);
    });
  });

  it('b reaches the LAN host behind a (ping and a TCP transfer); the refused prefix is not installed and status says why', async () => {
    const b = m.peer('b');
    await until('b installs 192.168.50.0/24', async () => (await sh(b.ns, 'ip route show proto 119')).out.includes('192.168.50.0/24'));
    const routes = (await sh(b.ns, 'ip route show proto 119')).out;
    say(tag, `b's meshd routes: ${routes.replace(/\n/g, ' | ')}`);
    expect(routes).not.toContain('192.168.60.0/24');
    const st = routesOf(await m.status(b.daemon));
    const refused = st.routes.find((r) => r.route === '192.168.60.0/24');
    say(tag, `b's status for 192.168.60.0/24: ${refused?.state}: ${refused?.why}`);
    expect(refused).toMatchObject({ via: 'a', state: 'not installed' });
    expect(refused!.why).toContain('--allow-routes');
    const ping = await sh(b.ns, `ping -c 3 -W 2 ${lanHost}`);
    say(tag, `b ping ${lanHost}: ${ping.out.split('\n').slice(-2).join(' ')}`);
    expect(ping.code, ping.out).toBe(0);
    const tcp = await sh(b.ns, `head -c 1000000 /dev/zero | socat -t 5 -T 10 - TCP:${lanHost}:9000`, 20_000);
    say(tag, `b -> ${lanHost}:9000 TCP, 1000000 bytes: the LAN host counted ${tcp.out}`);
    expect(tcp.out).toBe('1000000');
    const after = routesOf(await m.status(b.daemon)).routes.find((r) => r.route === '192.168.50.0/24');
    expect(after!.packets).toBeGreaterThan(3);
  });

  it('a packet from a with a source outside its admitted prefixes is dropped and counted on c', async () => {
    const a = m.peer('a');
    const c = m.peer('c');
    await until('c installs 192.168.50.0/24', async () => (await sh(c.ns, 'ip route show proto 119')).out.includes('192.168.50.0/24'));
    const drops0 = Number(((await m.status(c.daemon)).drops as Record<string, number>).spoofed_source ?? 0);
    // From a's LAN address (inside 192.168.50.0/24, admitted): answered.
    const ok = await sh(a.ns, `ping -c 2 -W 2 -I 192.168.50.1 ${c.overlay}`);
    expect(ok.code, ok.out).toBe(0);
    await sh(a.ns, 'ip addr add 192.168.70.5/32 dev lo');
    const bad = await sh(a.ns, `ping -c 3 -W 1 -I 192.168.70.5 ${c.overlay}`);
    expect(bad.code).not.toBe(0);
    const drops1 = Number(((await m.status(c.daemon)).drops as Record<string, number>).spoofed_source ?? 0);
    say(tag, `c's spoofed_source drops ${drops0} -> ${drops1}`);
    expect(drops1 - drops0).toBeGreaterThanOrEqual(3);
  });

  it("b reaches the web host through the exit node a (masqueraded on a's uplink); its hub session and direct path stay on the underlay", async () => {
    const b = m.peer('b');
    const c = m.peer('c');
    await until('b installs the exit rules', async () => (await exitRules(b.ns)).length === 3);
    const st = await m.status(b.daemon);
    const port = String(st.listen).split(':')[1];
    say(tag, `b's rules: ${(await exitRules(b.ns)).join(' | ')}`);
    expect(routesOf(st).exitNode).toBe('a');
    const seen = await sh(b.ns, `socat -T 5 - TCP:${webHost}:8080 </dev/null`);
    say(tag, `web saw b's connection from ${seen.out}`);
    expect(seen.out).toBe(aUplink);
    // The kernel's choice for meshd's own socket vs any other traffic to the hub.
    const own = (await sh(b.ns, `ip route get ${hubAddress} ipproto udp sport ${port}`)).out;
    const other = (await sh(b.ns, `ip route get ${hubAddress} ipproto udp sport 1`)).out;
    say(tag, `route for meshd's socket: ${own.split('\n')[0]}; for others: ${other.split('\n')[0]}`);
    expect(own).not.toContain('mtun0');
    expect(other).toContain('dev mtun0');
    // Still registered, and b -> c direct (not relayed, not through a).
    await m.waitPing('b', c.overlay, 15_000);
    await until('b -> c direct', async () => statusPeer(await m.status(b.daemon), c.overlay)?.path === 'direct');
    const hubSeen = await m.status(b.daemon);
    expect((hubSeen.hub as { registered: boolean }).registered).toBe(true);
    const aSt = await m.status(m.peer('a').daemon);
    const bViaA = statusPeer(aSt, b.overlay);
    const before = Number(bViaA?.rxBytes ?? 0);
    const p = await m.ping('b', c.overlay, 5, { intervalS: 0.2 });
    expect(p.received).toBe(5);
    const after = Number(statusPeer(await m.status(m.peer('a').daemon), b.overlay)?.rxBytes ?? 0);
    say(tag, `a's bytes from b during 5 pings b -> c: ${after - before} (b -> c does not go through a)`);
    expect(after - before).toBeLessThan(500);
  });

  it("d on its TCP hub leg: the exit rules keep that leg on the underlay, d stays registered and reaches the web host through a", async () => {
    const d = m.peer('d');
    await until('d installs the exit rules', async () => (await exitRules(d.ns)).length === 3);
    const legRules = (await sh(d.ns, 'ip rule show')).out.split('\n').filter((l) => /^526[89]:/.test(l));
    say(tag, `d's hub-leg rules: ${legRules.join(' | ')}`);
    expect(legRules.join('\n')).toContain(`dport ${hubPort}`);
    // The kernel's choice for d's TCP to the hub port vs TCP to another port of the same host.
    const leg = (await sh(d.ns, `ip route get ${hubAddress} ipproto tcp dport ${hubPort}`)).out;
    const other = (await sh(d.ns, `ip route get ${hubAddress} ipproto tcp dport 22`)).out;
    say(tag, `route for d's hub leg: ${leg.split('\n')[0]}; for other TCP to the hub host: ${other.split('\n')[0]}`);
    expect(leg).not.toContain('mtun0');
    expect(other).toContain('dev mtun0');
    const seen = await sh(d.ns, `socat -T 5 - TCP:${webHost}:8080 </dev/null`);
    say(tag, `web saw d's connection from ${seen.out}`);
    expect(seen.out).toBe(aUplink);
    // The leg's connection is d's own, on its underlay address (not the overlay one a tunnelled reconnect would use).
    const conns = (await sh(d.ns, `ss -Htn state established dst ${hubAddress}:${hubPort}`)).out;
    say(tag, `d's TCP to the hub: ${conns.replace(/\s+/g, ' ')}`);
    expect(conns).toContain(`${d.underlay}:`);
    const st = await m.status(d.daemon);
    const hub = st.hub as { registered: boolean; lastHeardMsAgo: number | null };
    const t = st.hubTransport as { leg: string };
    say(tag, `d: hub leg ${t.leg}, registered ${hub.registered}, heard ${hub.lastHeardMsAgo} ms ago`);
    expect(t.leg).toBe('tcp');
    expect(hub.registered).toBe(true);
    await m.waitPing('d', m.peer('c').overlay, 15_000);
  });

  it("b answers DNS on its overlay address for NAME.mesh from the map, and refuses other domains", async () => {
    const b = m.peer('b');
    const c = m.peer('c');
    const a = await sh(c.ns, `dig +short +time=2 +tries=2 @${b.overlay} a.mesh`);
    say(tag, `c: dig @${b.overlay} a.mesh -> ${a.out}`);
    expect(a.out).toBe(m.peer('a').overlay);
    const self = await sh(c.ns, `dig +short +time=2 +tries=2 @${b.overlay} B.mesh`);
    expect(self.out).toBe(b.overlay);
    const other = await sh(c.ns, `dig +time=2 +tries=2 @${b.overlay} example.com`);
    const status = /status: (\w+)/.exec(other.out)?.[1];
    say(tag, `c: dig @${b.overlay} example.com -> ${status}`);
    expect(status).toBe('REFUSED');
    const st = (await m.status(b.daemon)).dns as { domain: string; answered: number; refused: number; resolver: string };
    say(tag, `b's dns status: ${JSON.stringify(st)}`);
    expect(st).toMatchObject({ domain: 'mesh' });
    expect(st.answered).toBeGreaterThanOrEqual(2);
    expect(st.refused).toBeGreaterThanOrEqual(1);
    // A rename (c restarts with --name c2, same key): b answers the new name after that one delta.
    await m.killPeer('c');
    const old = c.daemon;
    const args = old.args.map((x, i) => (old.args[i - 1] === '--name' ? 'c2' : x));
    c.daemon = new Daemon('peer c2', c.ns, old.stateDir, args, m.lab);
    c.daemon.start();
    await c.daemon.waitMsg('registered with hub');
    await until('b answers c2.mesh', async () => (await sh(c.ns, `dig +short +time=1 +tries=1 @${b.overlay} c2.mesh`)).out === c.overlay);
    const was = await sh(c.ns, `dig +time=2 +tries=2 @${b.overlay} c.mesh`);
    say(tag, `after the rename: c2.mesh -> ${c.overlay}, c.mesh -> ${/status: (\w+)/.exec(was.out)?.[1]}`);
    expect(/status: (\w+)/.exec(was.out)?.[1]).toBe('NXDOMAIN');
  });

  it('kill -9 of b and a restart leave exactly one set of rules (for the new socket)', async () => {
    const b = m.peer('b');
    await m.killPeer('b');
    const stale = await exitRules(b.ns);
    say(tag, `after kill -9: ${stale.length} rules left: ${stale.join(' | ')}`);
    await m.restartPeer('b');
    await until('b installs the exit rules again', async () => (await exitRules(b.ns)).length === 3);
    const port = String((await m.status(b.daemon)).listen).split(':')[1];
    const rules = await exitRules(b.ns);
    say(tag, `after restart: ${rules.join(' | ')}`);
    expect(rules.length).toBe(3);
    expect(rules.join('\n')).toContain(`sport ${port}`);
  });

  it("stopping a restores b's default route within seconds", async () => {
    const b = m.peer('b');
    await m.peer('a').daemon.kill('SIGTERM');
    await until('b removes the exit rules', async () => (await exitRules(b.ns)).length === 0, 10_000);
    const table = await sh(b.ns, 'ip route show table 5270');
    expect(table.out).toBe('');
    const st = routesOf(await m.status(b.daemon));
    say(tag, `b after a left: exit node ${st.exitNode}; rules gone`);
    expect(st.exitNode).toBeNull();
    // The name went with the same map delta.
    const gone = await sh(m.peer('c').ns, `dig +time=2 +tries=2 @${b.overlay} a.mesh`);
    const status = /status: (\w+)/.exec(gone.out)?.[1];
    say(tag, `c: dig @${b.overlay} a.mesh after a left -> ${status}`);
    expect(status).toBe('NXDOMAIN');
  });
});
