// `meshd ping PEER`: in-band PING/PONG on the peer-peer session, one per second, each reply with its
// RTT and the path it came back on (like `tailscale ping`); --until-direct stops at the first reply
// over a direct or LAN path. Runs inside the peer daemon, behind the control socket.
import { randomBytes } from 'node:crypto';
import type { PingOptions, PingReply, PingSummary } from '../ops/control-protocol.js';
import type { Path } from '../link/path.js';
import type { Clock } from '../util/clock.js';
import { MeshdError } from '../util/errors.js';
import { ipv4ToU32, u32ToIpv4 } from '../util/ipv4.js';
import { canonicalIpv6 } from '../util/ipv6.js';
import type { PeerInfo } from './peer-map.js';
import type { PeerNode } from './node.js';
import { endpointKind } from './remote-peer.js';
import { endpointKey } from '../net/udp.js';

/** Local tuning: one probe a second, as ping(8) does. */
export const userPingIntervalMs = 1000;

/** Which peer `meshd ping TARGET` means (pure): an overlay address (IPv4, or IPv6 in any spelling)
 * first, then a name, so a member that named itself "10.9.0.3" cannot capture `meshd ping 10.9.0.3`
 * (the hub refuses such names now; an older hub may not). */
export function resolvePingTarget(all: readonly PeerInfo[], target: string): PeerInfo | undefined {
  const v6 = canonicalIpv6(target);
  const by6 = v6 === undefined ? undefined : all.find((p) => p.overlay6 === v6);
  if (by6) return by6;
  let overlay: number | undefined;
  try {
    overlay = ipv4ToU32(target);
  } catch {
    overlay = undefined;
  }
  return (overlay !== undefined ? all.find((p) => p.overlay === overlay) : undefined) ?? all.find((p) => p.name === target);
}

interface Pending {
  sentMs: number;
  seq: number;
  resolve: (r: { from: Path; atMs: number } | undefined) => void;
}

export class UserPinger {
  private readonly pending = new Map<bigint, Pending>();

  constructor(
    private readonly node: PeerNode,
    private readonly clock: Clock,
    private readonly hubEndpoint: string,
  ) {
    node.onPong((_peer, txid, from) => {
      const p = this.pending.get(txid);
      if (!p) return;
      this.pending.delete(txid);
      p.resolve({ from, atMs: this.clock.now() });
    });
  }

  private resolveTarget(target: string): PeerInfo {
    const peer = resolvePingTarget(this.node.map.all(), target);
    if (!peer) throw new MeshdError('PING_UNKNOWN_PEER', `no peer named or addressed "${target}" in the map`);
    return peer;
  }

  async ping(target: string, opts: PingOptions, onReply: (r: PingReply) => void, signal: AbortSignal): Promise<PingSummary> {
    const peer = this.resolveTarget(target);
    const summary: PingSummary = { target, name: peer.name, address: u32ToIpv4(peer.overlay), sent: 0, received: 0, direct: false };
    for (let seq = 1; seq <= opts.count && !signal.aborted; seq++) {
      const started = this.clock.now();
      const txid = randomBytes(8).readBigUInt64LE(0);
      const answer = new Promise<{ from: Path; atMs: number } | undefined>((resolve) => {
        this.pending.set(txid, { sentMs: started, seq, resolve });
        this.clock.setTimer(opts.timeoutMs, () => {
          if (this.pending.delete(txid)) resolve(undefined);
        });
      });
      if (this.node.sendUserPing(peer.overlay, txid) === undefined) {
        this.pending.delete(txid);
        throw new MeshdError('PING_NO_PATH', `cannot send to ${peer.name}: no session or path`);
      }
      summary.sent++;
      const r = await answer;
      if (r) {
        summary.received++;
        const from = r.from;
        const path = from.kind === 'relay' ? 'relay' : endpointKind(peer, from.endpoint);
        if (path !== 'relay') summary.direct = true;
        onReply({
          seq,
          rttMs: Math.round((r.atMs - started) * 1000) / 1000,
          path,
          endpoint: r.from.kind === 'udp' ? endpointKey(r.from.endpoint) : this.hubEndpoint,
          name: peer.name,
          address: u32ToIpv4(peer.overlay),
        });
        if (opts.untilDirect && path !== 'relay') break;
      }
      const rest = userPingIntervalMs - (this.clock.now() - started);
      if (seq < opts.count && rest > 0 && !signal.aborted) await new Promise<void>((res) => this.clock.setTimer(rest, res));
    }
    return summary;
  }
}
