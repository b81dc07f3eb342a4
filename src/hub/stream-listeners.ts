// The hub's stream transport (issue 21, docs/STREAM.md): the TCP listener (--listen-tcp) and the
// optional TLS one (--listen-tls), feeding one net/stream-hub-socket.ts around the UDP socket, and
// the transport-probe responder on every leg. hub/run.ts composes it; the hub itself sees one socket.
import type { HubConfig } from '../config/schema.js';
import { StreamHubSocket, type StreamHubLimits } from '../net/stream-hub-socket.js';
import { listenStream, type StreamListener } from '../net/stream-node.js';
import { sameEndpoint, type Endpoint, type UdpSocket } from '../net/udp.js';
import { systemClock } from '../util/clock.js';
import { ConfigError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { Hub } from './hub.js';
import { ProbeResponder } from './transport-probe.js';
import { pskFromSecret } from '../crypto/psk.js';
import { transportProbeKey } from '../crypto/transport-probe.js';
import { ensureTlsCert } from './tls-cert.js';

export interface HubStreamStatus {
  tcp: string | null;
  tls: string | null;
  connections: number;
  counters: Record<string, number>;
}

export interface HubStreams {
  readonly socket: StreamHubSocket;
  status(): HubStreamStatus;
  /** Refusals and closes by reason, for meshd_drops_total. */
  drops(): Record<string, number>;
  close(): Promise<void>;
}

/** True when a member's session currently runs over `e` (its latest authenticated packet came from it). */
function owned(hub: Hub | undefined, e: Endpoint): boolean {
  if (!hub) return false;
  for (const m of hub.registry.all()) {
    const p = hub.link.remote(m.publicKey)?.path;
    if (p?.kind === 'udp' && sameEndpoint(p.endpoint, e)) return true;
  }
  return false;
}

export async function startHubStreams(cfg: HubConfig, udp: UdpSocket, hub: () => Hub | undefined, log: Logger, limits?: Partial<StreamHubLimits>): Promise<HubStreams> {
  const probes = new ProbeResponder(() => systemClock.now(), transportProbeKey(pskFromSecret(cfg.secret)));
  const socket: StreamHubSocket = new StreamHubSocket(udp, {
    clock: systemClock,
    ...(limits ? { limits } : {}),
    isProven: (e) => owned(hub(), e),
    intercept: (d, from) => probes.handle(d, from, (r, to) => socket.send(r, to)),
  });
  const listeners: StreamListener[] = [];
  const open = async (port: number, tls: { key: string; cert: string } | undefined, flag: string) => {
    const bind = { address: cfg.listen.address, port };
    const l = await listenStream({ bind, ...(tls ? { tls } : {}), admit: (r) => socket.admit(r) }, (c) => socket.attach(c)).catch((e: unknown) => {
      throw new ConfigError(flag, `cannot listen on ${bind.address}:${port}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    });
    listeners.push(l);
    log.info({ listen: `${l.local.address}:${l.local.port}`, kind: l.kind }, `hub: stream transport on ${l.kind.toUpperCase()}`);
    return l;
  };
  try {
    const tcp = cfg.listenTcp !== undefined ? await open(cfg.listenTcp, undefined, '--listen-tcp') : undefined;
    const tls = cfg.listenTls !== undefined ? await open(cfg.listenTls, ensureTlsCert(cfg.stateDir), '--listen-tls') : undefined;
    const at = (l: StreamListener | undefined) => (l ? `${l.local.address}:${l.local.port}` : null);
    return {
      socket,
      status: () => ({ tcp: at(tcp), tls: at(tls), connections: socket.connections, counters: { ...socket.counters, probesAnswered: probes.counters.answered, probesRateLimited: probes.counters.rateLimited, probesBadMac: probes.counters.badMac } }),
      drops: () => ({
        stream_refused_per_ip: socket.counters.refusedPerIp,
        stream_refused_total: socket.counters.refusedTotal,
        stream_refused_rate: socket.counters.refusedRate,
        stream_closed_unproven: socket.counters.closedUnproven,
        stream_closed_idle: socket.counters.closedIdle,
        stream_bad_frame: socket.counters.closedBadFrame,
        stream_send_full: socket.counters.sendFull,
        probe_rate_limited: probes.counters.rateLimited,
        probe_bad_mac: probes.counters.badMac,
      }),
      close: async () => {
        await Promise.all(listeners.map((l) => l.close()));
      },
    };
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close()));
    throw e;
  }
}
