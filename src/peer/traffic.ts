// The traffic of one remote peer, held by its RemotePeer record (one place instead of the node's
// per-path map and the data plane's per-peer map, both keyed by overlay). Two views of the same
// flow, counted where each is known: IP packets through the TUN (`meshd status`), and the sealed
// inner messages per direction and path (the metrics). In KCP mode they differ: the wire view
// also carries ACKs, retransmissions and several packets per datagram, so neither replaces the other.
import type { PathKind } from './path.js';

export type Direction = 'out' | 'in';

/** Metric order of the path axis: index = direction * 3 + this position. */
export const trafficPaths: readonly PathKind[] = ['direct', 'lan', 'relay'];

export interface TrafficSample {
  direction: Direction;
  path: PathKind;
  packets: number;
  bytes: number;
}

const pathIndex: Readonly<Record<PathKind, number>> = { direct: 0, lan: 1, relay: 2 };

export class PeerTraffic {
  /** IP packets written to / read from the TUN for this peer. */
  txPackets = 0;
  txBytes = 0;
  rxPackets = 0;
  rxBytes = 0;
  /** Sealed inner messages (KCP or IP) by [direction * 3 + path], as running totals. */
  readonly wirePackets = new Float64Array(6);
  readonly wireBytes = new Float64Array(6);

  tx(bytes: number): void {
    this.txPackets++;
    this.txBytes += bytes;
  }

  /** Packets the native fast path sent (peer/fast-path.ts books them once a second). */
  txMany(packets: number, bytes: number): void {
    this.txPackets += packets;
    this.txBytes += bytes;
  }

  rx(bytes: number): void {
    this.rxPackets++;
    this.rxBytes += bytes;
  }

  /** Packets the native fast path received and wrote to the TUN (peer/fast-path.ts books them). */
  rxMany(packets: number, bytes: number): void {
    this.rxPackets += packets;
    this.rxBytes += bytes;
  }

  /** One inner message sealed for (out) or opened from (in) this peer on `path`. */
  wire(direction: Direction, path: PathKind, bytes: number): void {
    const i = (direction === 'out' ? 0 : 3) + pathIndex[path];
    this.wirePackets[i]!++;
    this.wireBytes[i]! += bytes;
  }

  /** `packets` inner messages of `bytes` in all, at once (the native fast path's). */
  wireMany(direction: Direction, path: PathKind, packets: number, bytes: number): void {
    const i = (direction === 'out' ? 0 : 3) + pathIndex[path];
    this.wirePackets[i]! += packets;
    this.wireBytes[i]! += bytes;
  }

  /** The non-zero wire counters. */
  *samples(): Iterable<TrafficSample> {
    for (let i = 0; i < 6; i++) {
      if (this.wirePackets[i] === 0) continue;
      yield { direction: i < 3 ? 'out' : 'in', path: trafficPaths[i % 3]!, packets: this.wirePackets[i]!, bytes: this.wireBytes[i]! };
    }
  }
}
