// The hub's NAT probe responder (docs/NAT.md): answers authenticated NAT_PROBEs on the main port and
// on the probe port (main + 1 unless --probe-port) with the source endpoint it saw, so a peer learns
// its mapping and filtering behaviour. Never a reflector: the reply goes only to the request's
// source, is no larger than the request, each request is answered once (a replayed copy from a
// spoofed source gets nothing), and answers are rate-limited per source address and in total.
// Wired by hub/daemon.ts in front of the link (probeDemux), so probes never reach the link.
import { natProbeKey, openNatProbe, sealNatProbeReply } from '../crypto/nat-probe.js';
import type { Endpoint, UdpSocket } from '../net/udp.js';
import { takeFirst } from '../net/udp-demux.js';
import type { Clock, WallClock } from '../util/clock.js';
import { TokenBucket } from '../util/token-bucket.js';
import { NAT_PROBE_FLAG_OTHER_PORT, NAT_PROBE_TYPE, natProbeKind } from '../wire/nat-probe.js';
import { toHex } from '../util/bytes.js';
import { isIpv6Text } from '../util/ipv6.js';

/** Local tuning: answers per source address (a peer's classification sends under 10 at once). */
export const probeRatePerSec = 10;
export const probeBurst = 20;
/** Local tuning: answers in total per second (64 bytes each: 64 kB/s at most). */
export const probeTotalPerSec = 1_000;
/** Local tuning: per-source buckets kept (oldest dropped beyond this: bounded memory under a flood). */
export const probeMaxSources = 4_096;
/** Protocol: a probe whose timestamp is further than this from the hub's clock is refused. */
export const probeFreshnessMs = 60_000;
/** Local tuning: request ids remembered to refuse replays (within the freshness window). */
export const probeMaxRemembered = 16_384;

export type ProbeDrop = 'malformed' | 'bad_mac' | 'stale' | 'replayed' | 'rate_limited';

export class ProbeResponder {
  readonly answered = { main: 0, probe: 0 };
  readonly drops: Record<ProbeDrop, number> = { malformed: 0, bad_mac: 0, stale: 0, replayed: 0, rate_limited: 0 };
  private readonly key: Uint8Array;
  private readonly perSource = new Map<string, TokenBucket>();
  private readonly total: TokenBucket;
  private readonly seen = new Map<string, number>();

  constructor(
    psk: Uint8Array,
    private readonly clock: Clock,
    private readonly wallClock: WallClock,
    private readonly sockets: { main: UdpSocket; probe: UdpSocket },
  ) {
    this.key = natProbeKey(psk);
    this.total = new TokenBucket(probeTotalPerSec, probeTotalPerSec, clock.now());
    sockets.probe.onMessage((d, from) => {
      if (natProbeKind(d) === 'probe') this.onProbe(d, from, 'probe');
    });
  }

  /** Handles a NAT_PROBE that reached `on`; cheap checks (rate) before the MAC. */
  onProbe(d: Uint8Array, from: Endpoint, on: 'main' | 'probe'): void {
    const now = this.clock.now();
    // NAT_PROBE_REPLY carries an IPv4 endpoint only (wire/nat-probe.ts): IPv6 has no NAT to classify.
    if (isIpv6Text(from.address)) {
      this.drops.malformed++;
      return;
    }
    if (!this.allow(from.address, now)) {
      this.drops.rate_limited++;
      return;
    }
    const m = openNatProbe(this.key, d);
    if (!m) {
      this.drops[natProbeKind(d) === 'probe' && d[1]! <= NAT_PROBE_FLAG_OTHER_PORT ? 'bad_mac' : 'malformed']++;
      return;
    }
    const wall = this.wallClock();
    if (Math.abs(wall - m.timestampMs) > probeFreshnessMs) {
      this.drops.stale++;
      return;
    }
    const id = toHex(m.txid);
    if (this.seen.has(id)) {
      this.drops.replayed++;
      return;
    }
    this.remember(id, wall);
    const other = (m.flags & NAT_PROBE_FLAG_OTHER_PORT) !== 0;
    const via = (on === 'main') !== other ? this.sockets.main : this.sockets.probe;
    via.send(sealNatProbeReply(this.key, { flags: m.flags, txid: m.txid, observed: from, hubPort: via.local.port }), from);
    this.answered[via === this.sockets.main ? 'main' : 'probe']++;
  }

  get sources(): number {
    return this.perSource.size;
  }

  private allow(address: string, now: number): boolean {
    let b = this.perSource.get(address);
    if (!b) {
      if (this.perSource.size >= probeMaxSources) {
        for (const [k, v] of this.perSource) if (v.idle(now)) this.perSource.delete(k);
        if (this.perSource.size >= probeMaxSources) this.perSource.delete(this.perSource.keys().next().value!);
      }
      b = new TokenBucket(probeRatePerSec, probeBurst, now);
      this.perSource.set(address, b);
    }
    return b.take(now) && this.total.take(now);
  }

  private remember(id: string, wall: number): void {
    for (const [k, t] of this.seen) {
      if (wall - t <= probeFreshnessMs * 2 && this.seen.size < probeMaxRemembered) break;
      this.seen.delete(k);
    }
    this.seen.set(id, wall);
  }
}

/** The hub's main socket with NAT_PROBEs taken out before the link sees them. */
export function probeDemux(main: UdpSocket, responder: () => ProbeResponder | undefined): UdpSocket {
  return takeFirst(main, (d, from) => {
    const r = d[0] === NAT_PROBE_TYPE ? responder() : undefined;
    if (!r || natProbeKind(d) !== 'probe') return false;
    r.onProbe(d, from, 'main');
    return true;
  });
}
