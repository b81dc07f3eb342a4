// The demo's fixed plan (src/demo/plan.ts): addresses only from the documentation ranges, names the
// kernel accepts and the sweep recognises (and nothing else's), and daemons started with every flag
// explicit. The demo itself runs in test/e2e/demo.test.ts.
import { describe, expect, it } from 'vitest';
import { daemonPlans, demoLinks, demoNamespaces, isDemoName, isDemoProcess, namespaces, natRules, peers, tryLines, veths } from '../../src/demo/plan.js';

function inPrefix(addr: string, net: string, len: number): boolean {
  const n = (s: string) => s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const mask = 2 ** 32 - 2 ** (32 - len);
  return (n(addr) & mask) >>> 0 === (n(net) & mask) >>> 0;
}

const docRanges: [string, number][] = [
  ['192.0.2.0', 24],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
];

describe('demo plan', () => {
  it('uses underlay addresses from the documentation ranges only, overlay from 10.9.0.0/24', () => {
    const underlay = veths.flatMap((v) => [v.addrA, v.addrB]).map((a) => a.split('/')[0]!);
    expect(underlay.length).toBe(10);
    for (const a of underlay) expect(docRanges.some(([net, len]) => inPrefix(a, net, len)), a).toBe(true);
    for (const p of peers) expect(inPrefix(p.overlay.split('/')[0]!, '10.9.0.0', 24), p.overlay).toBe(true);
  });

  it('names every namespace and link so that the sweep finds it, within IFNAMSIZ', () => {
    for (const ns of namespaces) expect(isDemoName(ns), ns).toBe(true);
    for (const v of veths) {
      for (const dev of [v.ifA, v.ifB]) {
        expect(dev.length, dev).toBeLessThanOrEqual(15);
        expect(isDemoName(dev), dev).toBe(true);
      }
    }
    expect(new Set(veths.flatMap((v) => [v.ifA, v.ifB])).size).toBe(veths.length * 2);
  });

  it.each([
    ['mdemo-a', true, 'a demo namespace'],
    ['mdemo-inet', true, 'the demo internet'],
    ['mdemo1w', true, 'a demo link'],
    ['mdemo', false, 'the bare prefix is nobody'],
    ['mdemox', false, 'a name that only starts like the prefix'],
    ['m12345x0a1f-a', false, "an e2e lab's namespace (test/helpers/netns.ts)"],
    ['meshd0', false, "a peer's TUN device"],
    ['eth0', false, "the host's link"],
  ])('isDemoName(%s) = %s: %s', (name, want) => {
    expect(isDemoName(name)).toBe(want);
  });

  it('reads demo namespaces and links out of ip output', () => {
    expect(demoNamespaces('mdemo-rb (id: 5)\nm99x0a0a-a\nmdemo-a\n\n')).toEqual(['mdemo-rb', 'mdemo-a']);
    const links = ['1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue', '7: mdemo1w@if6: <BROADCAST,MULTICAST> mtu 1500', '8: eth0@if9: <BROADCAST> mtu 1500', '9: mdemox: <NOARP> mtu 1500'].join('\n');
    expect(demoLinks(links)).toEqual(['mdemo1w']);
  });

  it.each([
    ['/usr/bin/node\0/x/dist/cli.js\0peer\0--state-dir\0/run/meshd-demo/a\0', true, 'a demo peer'],
    ['/usr/sbin/sshd\0-o\0PidFile=/run/meshd-demo/ssh/sshd.pid\0', true, "the demo's sshd"],
    ['/usr/bin/node\0/x/dist/cli.js\0peer\0--state-dir\0/run/meshd-demo-other/a\0', false, 'a similar path is not ours'],
    ['/usr/bin/node\0/x/dist/cli.js\0peer\0--state-dir\0/var/lib/meshd\0', false, 'a real peer'],
    ['', false, 'a pid that is gone'],
  ])('isDemoProcess(%j) = %s: %s', (line, want) => {
    expect(isDemoProcess(line, '/run/meshd-demo')).toBe(want);
  });

  it("makes each router a home NAT: masquerade out of the WAN, new flows from the WAN dropped", () => {
    const r = natRules('mdemo1w', 'mdemo1l');
    expect(r).toContain('oifname "mdemo1w" iifname "mdemo1l" masquerade');
    expect(r).toContain('iifname "mdemo1w" ct state new drop');
  });

  it('starts the daemons with every flag explicit: secret file, name, overlay address; no pinned hub key', () => {
    const [hub, ...ps] = daemonPlans('/run/meshd-demo');
    expect(hub!.args.slice(0, 1)).toEqual(['hub']);
    expect(hub!.args).toEqual(expect.arrayContaining(['--secret-file', '--state-dir', '--listen', '--network']));
    for (const p of ps) {
      expect(p.args[0]).toBe('peer');
      for (const f of ['--secret-file', '--state-dir', '--name', '--local', '--hub']) expect(p.args, f).toContain(f);
      expect(p.args).not.toContain('--hub-key');
      expect(p.stateDir.startsWith('/run/meshd-demo/')).toBe(true);
    }
    expect(new Set([hub, ...ps].map((d) => d!.stateDir)).size).toBe(3);
  });

  it('offers ping, status and (with sshd) ssh lines to try', () => {
    const lines = tryLines('meshd', '/run/meshd-demo', '/run/meshd-demo/ssh/id_ed25519');
    expect(lines[0]).toBe('sudo ip netns exec mdemo-a ping 10.9.0.3');
    expect(lines.some((l) => l.startsWith('sudo ip netns exec mdemo-a ssh ') && l.endsWith('root@10.9.0.3'))).toBe(true);
    expect(lines).toContain('sudo meshd status --state-dir /run/meshd-demo/a');
    expect(tryLines('meshd', '/run/meshd-demo').some((l) => l.includes(' ssh '))).toBe(false);
  });
});
