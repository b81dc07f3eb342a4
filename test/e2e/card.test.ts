// The card's own commands, verbatim (issue 16): `meshd hub` with no flag at all, and
// `meshd peer --hub 203.0.113.2:7000 --local 10.9.0.x/24` with no --name, no --secret-file and no
// --state-dir, on "machines" that share a host name. Each machine is a network namespace plus a
// mount namespace in which a private directory is bound over /etc/meshd and /var/lib/meshd, so the
// daemons use the real default paths (the hub creates /etc/meshd/secret; each peer reads the copy
// the test makes, as a user would scp it) without touching the host's files.
//
//   internet (router) -- hub 203.0.113.2 (public)
//                     -- router ra (home NAT) -- peer a 192.0.2.2
//                     -- router rb (home NAT) -- peer b 192.0.2.18
//                     -- peer c 198.51.100.18 (public)
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeRoot, toolsMissing } from '../helpers/root.js';
import { cliPath, Daemon, isRegistration, requireDist, runAsync, say } from '../helpers/mesh-lab.js';
import { Lab } from '../helpers/netns.js';

const hubIp = '203.0.113.2';
const mountPoints = ['/etc/meshd', '/var/lib/meshd'] as const;

/** One "machine": a namespace and its own /etc/meshd and /var/lib/meshd. */
interface Machine {
  ns: string;
  etc: string;
  state: string;
}

/** argv prefix that runs a command with the machine's private directories bound over the defaults. */
function onMachine(m: Machine): string[] {
  const script = 'mount --bind "$1" /etc/meshd && mount --bind "$2" /var/lib/meshd && shift 2 && exec "$@"';
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', m.etc, m.state];
}

/** `meshd status --json` inside the daemon's own network and mount namespaces (its default socket). */
async function status(d: Daemon): Promise<Record<string, unknown>> {
  const r = await runAsync(null, ['nsenter', '-t', String(d.pid), '-m', '-n', '--', process.execPath, cliPath, 'status', '--json'], 10_000);
  if (r.code !== 0) throw new Error(`meshd status in ${d.label} -> ${r.code ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(0, 400)}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function ping(ns: string, to: string, count: number): Promise<number> {
  const r = await runAsync(ns, ['ping', '-n', '-q', '-c', String(count), '-i', '0.2', '-W', '1', to], 5000 + count * 1200);
  return Number(/(\d+) received/.exec(r.stdout)?.[1] ?? 0);
}

async function waitPing(ns: string, to: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  for (let i = 0; i < 40 && Date.now() - started < timeoutMs; i++) if ((await ping(ns, to, 1)) === 1) return;
  throw new Error(`${ns} could not ping ${to} within ${timeoutMs} ms`);
}

describeRoot('the card commands, verbatim (real daemons, default paths)', () => {
  it('meshd hub with no flag makes a secret; two peers with only --hub and --local join with distinct names and ping; a taken --name retries until the operator frees it', async () => {
    requireDist();
    const missing = toolsMissing(['unshare', 'nsenter', 'mount']);
    if (missing !== undefined) throw new Error(`${missing} (util-linux)`);
    const lab = new Lab();
    const dir = join(tmpdir(), `meshd-card-${lab.prefix}`);
    const made = mountPoints.filter((p) => !existsSync(p));
    for (const p of made) mkdirSync(p, { recursive: true, mode: 0o700 });
    const daemons: Daemon[] = [];
    try {
      const machine = (name: string, ns: string): Machine => {
        // Both directories exist (a bind mount needs its source); /etc/meshd starts empty, as on a new machine.
        const m = { ns, etc: join(dir, name, 'etc'), state: join(dir, name, 'state') };
        mkdirSync(m.state, { recursive: true });
        mkdirSync(m.etc, { recursive: true, mode: 0o700 });
        return m;
      };
      // Topology.
      const inet = lab.host('inet', { forward: true });
      const hubNs = lab.host('hub');
      lab.link(hubNs, inet, `${hubIp}/24`, '203.0.113.1/24');
      lab.route(hubNs, 'default', '203.0.113.1');
      const behindNat = (name: string, k: number): string => {
        const router = lab.host(`r${name}`, { forward: true });
        const ns = lab.host(name);
        const wan = lab.link(router, inet, `198.51.100.${8 * k + 2}/29`, `198.51.100.${8 * k + 1}/29`);
        lab.route(router, 'default', `198.51.100.${8 * k + 1}`);
        const lan = lab.link(ns, router, `192.0.2.${16 * k + 2}/28`, `192.0.2.${16 * k + 1}/28`);
        lab.route(ns, 'default', `192.0.2.${16 * k + 1}`);
        lab.nat(router, wan.a, lan.b, { dropUnsolicited: true });
        return ns;
      };
      const aNs = behindNat('a', 0);
      const bNs = behindNat('b', 1);
      const cNs = lab.host('c');
      lab.link(cNs, inet, '198.51.100.18/29', '198.51.100.17/29');
      lab.route(cNs, 'default', '198.51.100.17');

      // 1. `meshd hub`: no flag, no secret anywhere -> it makes one and starts.
      const hubM = machine('hub', hubNs);
      const hub = new Daemon('hub', hubNs, hubM.state, ['hub'], lab, onMachine(hubM));
      daemons.push(hub);
      hub.start();
      await hub.waitMsg('hub started');
      const secret = join(hubM.etc, 'secret');
      expect(existsSync(secret), 'meshd hub created /etc/meshd/secret').toBe(true);
      expect(statSync(secret).mode & 0o777).toBe(0o600);
      say('card', 'meshd hub (no flags) created /etc/meshd/secret (0600) and started');

      // 2. A peer without the secret exits with one line naming the path it looked at.
      const noSecret = machine('nosecret', cNs);
      const lost = new Daemon('peer without secret', cNs, noSecret.state, ['peer', '--hub', `${hubIp}:7000`, '--local', '10.9.0.9/24'], lab, onMachine(noSecret));
      daemons.push(lost);
      lost.start();
      await new Promise<void>((resolve) => (lost.running ? lost.child!.once('exit', () => resolve()) : resolve()));
      expect(lost.lastExit).toMatch(/code=[1-9]/);
      expect(lost.tail()).toContain('/etc/meshd/secret');

      // 3. Copy the secret to each machine, as `scp hub:/etc/meshd/secret /etc/meshd/` would.
      const give = (m: Machine): void => {
        copyFileSync(secret, join(m.etc, 'secret'));
        chmodSync(join(m.etc, 'secret'), 0o600);
      };
      const aM = machine('a', aNs);
      const bM = machine('b', bNs);
      give(aM);
      give(bM);
      const a = new Daemon('peer a', aNs, aM.state, ['peer', '--hub', `${hubIp}:7000`, '--local', '10.9.0.2/24'], lab, onMachine(aM));
      const b = new Daemon('peer b', bNs, bM.state, ['peer', '--hub', `${hubIp}:7000`, '--local', '10.9.0.3/24'], lab, onMachine(bM));
      daemons.push(a, b);
      a.start();
      await a.waitFor('registration', isRegistration);
      b.start();
      await b.waitFor('registration', isRegistration);
      const [sa, sb] = [await status(a), await status(b)];
      say('card', `a registered as "${String(sa.name)}" ${String(sa.address)}, b as "${String(sb.name)}" ${String(sb.address)} (one host name for both)`);
      expect(sa.name).not.toBe(sb.name);
      expect(String(sb.name)).toMatch(new RegExp(`^${String(sa.name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d+$`));
      await waitPing(aNs, '10.9.0.3');
      await waitPing(bNs, '10.9.0.2');
      expect(await ping(aNs, '10.9.0.3', 5)).toBeGreaterThanOrEqual(4);
      say('card', 'a and b ping each other');

      // 4. A third machine insists on a's name: refused, it retries (no exit), and joins once a leaves.
      const cM = machine('c', cNs);
      give(cM);
      const c = new Daemon('peer c', cNs, cM.state, ['peer', '--hub', `${hubIp}:7000`, '--local', '10.9.0.4/24', '--name', String(sa.name)], lab, onMachine(cM));
      daemons.push(c);
      c.start();
      const refusals = (): number => c.seen((o) => typeof o.msg === 'string' && /refus/i.test(o.msg) && JSON.stringify(o).includes('NAME_TAKEN')).length;
      const deadline = Date.now() + 20_000;
      while (refusals() < 2 && Date.now() < deadline && c.running) await new Promise((r) => setTimeout(r, 250));
      expect(c.running, 'c keeps running while refused').toBe(true);
      expect(refusals(), 'c logged the refusal and retried').toBeGreaterThanOrEqual(2);
      const warnLevel = c.seen((o) => JSON.stringify(o).includes('NAME_TAKEN'))[0]?.obj?.level;
      expect(warnLevel).toBe(40);
      say('card', `c refused ${refusals()} times (NAME_TAKEN, at warn), still running; a leaves, the operator frees its name`);
      // The name stays bound to a's key when a leaves (H1: a sleeping or rebooting owner keeps what is
      // its own); the operator frees it with one command on the hub, and c joins without being touched.
      await a.kill('SIGTERM');
      const stillRefused = refusals();
      const since = c.mark;
      const rel = await runAsync(null, ['nsenter', '-t', String(hub.pid), '-m', '-n', '--', process.execPath, cliPath, 'hub', 'release', String(sa.name)], 10_000);
      expect(rel.code, `meshd hub release: ${rel.stderr}${rel.stdout}`).toBe(0);
      say('card', `meshd hub release ${String(sa.name)}: ${rel.stdout.trim().split('\n')[0] ?? ''}`);
      await c.waitFor('registration after the release', isRegistration, { since, timeoutMs: 90_000 });
      expect(stillRefused).toBeGreaterThanOrEqual(2);
      const sc = await status(c);
      expect(sc.name).toBe(sa.name);
      await waitPing(cNs, '10.9.0.3');
      say('card', `c joined as "${String(sc.name)}" once the name was freed, and pings b`);

      // 5. Stopping a peer while the hub refuses it is a clean exit 0 (systemctl stop), not a kill.
      const dM = machine('d', aNs);
      give(dM);
      const d = new Daemon('peer d', aNs, dM.state, ['peer', '--hub', `${hubIp}:7000`, '--local', '10.9.0.3/24', '--tun', 'meshd1'], lab, onMachine(dM));
      daemons.push(d);
      d.start();
      await d.waitFor('a refusal', (o) => JSON.stringify(o).includes('ADDRESS_IN_USE'), { timeoutMs: 20_000 });
      await d.kill('SIGTERM');
      expect(d.lastExit).toBe('exit code=0 signal=null');
      say('card', 'd, refused ADDRESS_IN_USE (b holds 10.9.0.3), stopped with SIGTERM: exit 0');
    } catch (e) {
      for (const d of daemons) console.log(d.tail());
      throw e;
    } finally {
      lab.dispose();
      rmSync(dir, { recursive: true, force: true });
      for (const p of made.reverse()) if (existsSync(p) && readdirSync(p).length === 0) rmdirSync(p);
    }
  });
});
