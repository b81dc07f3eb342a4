// The fixed plan of `meshd demo` (src/demo/run.ts): its namespaces, links, addresses, NAT rules and
// daemon flags, and the pure helpers that recognise what a run (or a killed earlier run) left behind.
// No I/O here; src/demo/lab.ts and leftovers.ts act on it.
//
//   mdemo-inet (router, forwarding)
//     +-- mdemo-hub  203.0.113.2/24 (gateway .1)        meshd hub --listen 203.0.113.2:7000
//     +-- mdemo-ra   WAN 198.51.100.2/29 (gateway .1),  masquerade, WAN drop of `ct state new`
//     |     +-- mdemo-a   192.0.2.2/28 (gateway .1)     meshd peer a, overlay 10.9.0.2/24
//     +-- mdemo-rb   WAN 198.51.100.10/29 (gateway .9), masquerade, WAN drop of `ct state new`
//           +-- mdemo-b   192.0.2.18/28 (gateway .17)   meshd peer b, overlay 10.9.0.3/24
import { join } from 'node:path';

/** Every namespace and link the demo makes starts with this; the sweep removes what matches. */
export const demoPrefix = 'mdemo';
export const hubListen = '203.0.113.2:7000';
export const overlayNetwork = '10.9.0.0/24';
/** The TUN device inside each peer's namespace (no clash with the host's: it lives in the namespace). */
export const demoTun = 'meshd0';

export interface DemoPeer {
  name: 'a' | 'b';
  ns: string;
  router: string;
  /** The peer's own (LAN) address, behind its router. */
  lan: string;
  lanGateway: string;
  /** The router's public (WAN) address, what the hub sees. */
  wan: string;
  wanGateway: string;
  overlay: string;
}

export const inetNs = `${demoPrefix}-inet`;
export const hubNs = `${demoPrefix}-hub`;

export const peers: readonly DemoPeer[] = [
  { name: 'a', ns: `${demoPrefix}-a`, router: `${demoPrefix}-ra`, lan: '192.0.2.2/28', lanGateway: '192.0.2.1/28', wan: '198.51.100.2/29', wanGateway: '198.51.100.1/29', overlay: '10.9.0.2/24' },
  { name: 'b', ns: `${demoPrefix}-b`, router: `${demoPrefix}-rb`, lan: '192.0.2.18/28', lanGateway: '192.0.2.17/28', wan: '198.51.100.10/29', wanGateway: '198.51.100.9/29', overlay: '10.9.0.3/24' },
];

/** Namespaces in creation order (teardown goes in reverse). */
export const namespaces: readonly string[] = [inetNs, hubNs, ...peers.flatMap((p) => [p.router, p.ns])];

export interface VethPlan {
  /** Interface names, created directly inside their namespaces (never in the host's). */
  ifA: string;
  ifB: string;
  nsA: string;
  nsB: string;
  addrA: string;
  addrB: string;
}

/** The four veth pairs: hub-inet, and per peer router-inet (WAN) and peer-router (LAN). */
export const veths: readonly VethPlan[] = [
  { ifA: `${demoPrefix}0h`, ifB: `${demoPrefix}0i`, nsA: hubNs, nsB: inetNs, addrA: '203.0.113.2/24', addrB: '203.0.113.1/24' },
  ...peers.flatMap((p, k): VethPlan[] => [
    { ifA: `${demoPrefix}${k + 1}w`, ifB: `${demoPrefix}${k + 1}i`, nsA: p.router, nsB: inetNs, addrA: p.wan, addrB: p.wanGateway },
    { ifA: `${demoPrefix}${k + 1}p`, ifB: `${demoPrefix}${k + 1}l`, nsA: p.ns, nsB: p.router, addrA: p.lan, addrB: p.lanGateway },
  ]),
];

/** Address without its prefix length. */
export function hostOf(cidr: string): string {
  return cidr.split('/')[0]!;
}

/** Default routes: namespace -> gateway. */
export const defaultRoutes: readonly [string, string][] = [
  [hubNs, '203.0.113.1'],
  ...peers.flatMap((p): [string, string][] => [
    [p.router, hostOf(p.wanGateway)],
    [p.ns, hostOf(p.lanGateway)],
  ]),
];

/**
 * A home router in nft syntax: masquerade from the LAN out of the WAN (port-preserving when free),
 * and unsolicited new flows arriving on the WAN dropped before conntrack confirms them. Without the
 * drop, a punch that reaches the router before its own outbound mapping exists takes the port, and
 * punching fails behind what should be an easy NAT (see the e2e tests' lab, same rule).
 */
export function natRules(wanIf: string, lanIf: string): string {
  return [
    'table ip mdemo_nat {',
    '  chain post { type nat hook postrouting priority srcnat; policy accept;',
    `    oifname "${wanIf}" iifname "${lanIf}" masquerade`,
    '  }',
    '}',
    'table inet mdemo_fw {',
    '  chain pre { type filter hook prerouting priority -150; policy accept;',
    `    iifname "${wanIf}" ct state new drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Where the demo keeps state dirs, secrets, logs and its pid file: /run when present. */
export function runDirFor(runExists: boolean, tmp: string): string {
  return runExists ? '/run/meshd-demo' : join(tmp, 'meshd-demo');
}

export interface DaemonPlan {
  label: 'hub' | 'a' | 'b';
  ns: string;
  stateDir: string;
  secretFile: string;
  logFile: string;
  args: string[];
}

/** Hub and peer command lines, every flag explicit (no defaults relied on: secret, name, address). */
export function daemonPlans(runDir: string): DaemonPlan[] {
  const hubState = join(runDir, 'hub');
  const hub: DaemonPlan = {
    label: 'hub',
    ns: hubNs,
    stateDir: hubState,
    secretFile: join(hubState, 'secret'),
    logFile: join(runDir, 'hub.log'),
    args: ['hub', '--listen', hubListen, '--network', overlayNetwork, '--secret-file', join(hubState, 'secret'), '--state-dir', hubState, '--log-level', 'info'],
  };
  const ps = peers.map((p): DaemonPlan => {
    const state = join(runDir, p.name);
    return {
      label: p.name,
      ns: p.ns,
      stateDir: state,
      secretFile: join(state, 'secret'),
      logFile: join(runDir, `${p.name}.log`),
      args: ['peer', '--hub', hubListen, '--local', p.overlay, '--name', p.name, '--secret-file', join(state, 'secret'), '--state-dir', state, '--tun', demoTun, '--log-level', 'info'],
    };
  });
  return [hub, ...ps];
}

/** Names in `ip netns list` output that belong to the demo. */
export function demoNamespaces(ipNetnsList: string): string[] {
  return ipNetnsList
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(isDemoName);
}

/** Link names in `ip -o link show` output (host namespace) that belong to the demo. */
export function demoLinks(ipOLink: string): string[] {
  const out: string[] = [];
  for (const line of ipOLink.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (m && isDemoName(m[1]!)) out.push(m[1]!);
  }
  return out;
}

/** `mdemo-...` namespaces and `mdemo<digit>...` links; nothing else, however similar. */
export function isDemoName(name: string): boolean {
  return name.startsWith(`${demoPrefix}-`) || new RegExp(`^${demoPrefix}\\d`).test(name);
}

/** Whether a process command line (NUL-separated /proc/PID/cmdline) is one the demo started. */
export function isDemoProcess(cmdline: string, runDir: string): boolean {
  return cmdline.split('\0').some((arg) => arg === runDir || arg.startsWith(`${runDir}/`) || arg.includes(`=${runDir}/`));
}

/**
 * The one-line commands printed for the user while the demo runs. `meshd` is how to invoke this
 * CLI from a shell; `sshKey` is set when an sshd runs in peer b's namespace.
 */
export function tryLines(meshd: string, runDir: string, sshKey?: string): string[] {
  const [a, b] = peers;
  const lines = [
    `sudo ip netns exec ${a!.ns} ping ${hostOf(b!.overlay)}`,
    ...(sshKey !== undefined ? [`sudo ip netns exec ${a!.ns} ssh -i ${sshKey} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@${hostOf(b!.overlay)}`] : []),
    `sudo ${meshd} status --state-dir ${join(runDir, a!.name)}`,
    `sudo ${meshd} ping ${b!.name} --state-dir ${join(runDir, a!.name)}`,
    `sudo ${meshd} status --state-dir ${join(runDir, 'hub')}`,
    `sudo ip netns exec ${b!.ns} ip -br addr`,
  ];
  return lines;
}
