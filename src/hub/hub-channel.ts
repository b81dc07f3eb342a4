// The hub-to-hub UDP channel (issue 24: relayed data between hubs never goes through NATS). Each hub
// publishes its UDP path (static key, address, boot epoch) with its presence (ClusterBus.advertise);
// a datagram for a member homed on another hub is sealed (crypto/hub-data.ts) and sent from this
// hub's socket to that hub's, which opens it, checks its replay window and hands it on. Bad frames
// are dropped and counted, never thrown. State is one session per live hub (a handful), rebuilt when
// either side restarts (a new epoch). Built by hub/hub.ts; the relay checks are hub/cluster-forward.ts'.
import { hubDataKeys, openHubData, sealHubData, type HubDataKeys } from '../crypto/hub-data.js';
import type { StaticKeyPair } from '../crypto/keys.js';
import { ReplayWindow } from '../crypto/replay.js';
import { endpointKey, type Endpoint, type UdpSocket } from '../net/udp.js';
import { takeFirst } from '../net/udp-demux.js';
import { bytesEqual, toHex } from '../util/bytes.js';
import { DecodeError } from '../util/errors.js';
import {
  decodeHubData, decodeHubDataPlain, encodeHubDataHeader, encodeHubDataPlain, HUB_DATA_HEADER_SIZE, HUB_DATA_MAX_COUNTER, HUB_DATA_TYPE, HUB_DATA_RESERVED_TYPE,
} from '../wire/hub-data.js';
import type { ClusterBus, HubPath } from './network-state.js';

/** Local tuning: sessions kept beyond the live hubs before the others are forgotten (bounded state). */
const spareSessions = 16;

export type HubFrameDrop = 'malformed' | 'unknown_epoch' | 'bad_key' | 'replayed' | 'bad_tag' | 'no_path' | 'send_failed';

/** One hub's counters as `meshd status` shows them. */
export interface HubSessionStatus {
  hubId: string;
  endpoint: string;
  framesOut: number;
  framesIn: number;
  bytesOut: number;
  bytesIn: number;
}

interface Session {
  hubId: string;
  publicKey: Uint8Array;
  theirEpoch: Uint8Array;
  keys: HubDataKeys;
  sendCounter: number;
  replay: ReplayWindow;
}

export interface HubChannelOptions {
  psk: Uint8Array;
  keyPair: StaticKeyPair;
  /** This hub's boot epoch (8 random bytes). */
  epoch: Uint8Array;
  bus: ClusterBus;
  /** Sends one datagram from this hub's UDP socket. */
  send: (data: Uint8Array, to: Endpoint) => void;
}

export class HubChannel {
  readonly drops: Record<HubFrameDrop, number> = { malformed: 0, unknown_epoch: 0, bad_key: 0, replayed: 0, bad_tag: 0, no_path: 0, send_failed: 0 };
  private readonly sessions = new Map<string, Session>();
  private readonly stats = new Map<string, HubSessionStatus>();
  private deliver: (hubId: string, from: number, to: number, datagram: Uint8Array) => void = () => undefined;

  constructor(private readonly o: HubChannelOptions) {}

  /** Where relayed datagrams from other hubs go (hub/cluster-forward.ts checks them). */
  onData(fn: (hubId: string, from: number, to: number, datagram: Uint8Array) => void): void {
    this.deliver = fn;
  }

  /** The session with a hub for its current path (made or remade when either epoch changed). */
  private session(hubId: string, path: HubPath): Session | undefined {
    const s = this.sessions.get(hubId);
    if (s && bytesEqual(s.theirEpoch, path.epoch) && bytesEqual(s.publicKey, path.publicKey)) return s;
    const keys = hubDataKeys(this.o.psk, this.o.keyPair, this.o.epoch, path.publicKey, path.epoch);
    if (!keys) {
      this.drops.bad_key++;
      return undefined;
    }
    if (this.sessions.size >= spareSessions) for (const id of [...this.sessions.keys()]) if (!this.o.bus.hubPath(id)) this.sessions.delete(id);
    const fresh: Session = { hubId, publicKey: path.publicKey, theirEpoch: path.epoch, keys, sendCounter: 0, replay: new ReplayWindow() };
    this.sessions.set(hubId, fresh);
    return fresh;
  }

  private statsOf(hubId: string, path: HubPath): HubSessionStatus {
    let st = this.stats.get(hubId);
    if (!st) {
      if (this.stats.size >= spareSessions) for (const id of [...this.stats.keys()]) if (!this.o.bus.hubPath(id)) this.stats.delete(id);
      st = { hubId, endpoint: '', framesOut: 0, framesIn: 0, bytesOut: 0, bytesIn: 0 };
      this.stats.set(hubId, st);
    }
    st.endpoint = path.endpoints[0] ? endpointKey(path.endpoints[0]) : '';
    return st;
  }

  /** Seals and sends one relayed datagram to another hub; false (counted) when it has no UDP path. */
  send(hubId: string, from: number, to: number, datagram: Uint8Array): boolean {
    const path = this.o.bus.hubPath(hubId);
    const dest = path?.endpoints[0];
    if (!path || !dest) {
      this.drops.no_path++;
      return false;
    }
    const s = this.session(hubId, path);
    if (!s) return false;
    if (s.sendCounter > HUB_DATA_MAX_COUNTER) {
      this.drops.send_failed++;
      return false;
    }
    const header = encodeHubDataHeader({ epoch: this.o.epoch, counter: s.sendCounter });
    const sealed = sealHubData(s.keys.send, s.sendCounter++, encodeHubDataPlain({ from, to, datagram }), header);
    const frame = new Uint8Array(HUB_DATA_HEADER_SIZE + sealed.byteLength);
    frame.set(header, 0);
    frame.set(sealed, HUB_DATA_HEADER_SIZE);
    try {
      this.o.send(frame, dest);
    } catch {
      this.drops.send_failed++;
      return false;
    }
    const st = this.statsOf(hubId, path);
    st.framesOut++;
    st.bytesOut += datagram.byteLength;
    return true;
  }

  /** One datagram of outer type 10 or 11 from the hub's socket. Never throws. */
  onFrame(d: Uint8Array): void {
    let h;
    try {
      h = decodeHubData(d);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.drops.malformed++;
      return;
    }
    const hubId = this.o.bus.hubByEpoch(toHex(h.epoch));
    const path = hubId === undefined ? undefined : this.o.bus.hubPath(hubId);
    if (hubId === undefined || !path) {
      this.drops.unknown_epoch++; // not a live hub of this network, or one restarted since
      return;
    }
    const s = this.session(hubId, path);
    if (!s) return;
    if (!s.replay.check(h.counter)) {
      this.drops.replayed++;
      return;
    }
    const plain = openHubData(s.keys.recv, h.counter, h.sealed, h.ad);
    if (!plain) {
      this.drops.bad_tag++;
      return;
    }
    s.replay.update(h.counter);
    let p;
    try {
      p = decodeHubDataPlain(plain);
    } catch {
      this.drops.malformed++;
      return;
    }
    const st = this.statsOf(hubId, path);
    st.framesIn++;
    st.bytesIn += p.datagram.byteLength;
    this.deliver(hubId, p.from, p.to, p.datagram);
  }

  /** Sessions with the hubs this hub exchanged data with, and their counters. */
  status(): { sessions: HubSessionStatus[]; drops: Record<HubFrameDrop, number> } {
    return { sessions: [...this.stats.values()].map((s) => ({ ...s })), drops: { ...this.drops } };
  }
}

/** Puts the channel in front of the hub's socket: outer types 10-11 go to it, never to the link. */
export function hubDataDemux(main: UdpSocket, channel: () => HubChannel | undefined): UdpSocket {
  return takeFirst(main, (d) => {
    const t = d[0];
    if (t !== HUB_DATA_TYPE && t !== HUB_DATA_RESERVED_TYPE) return false;
    const c = channel();
    if (c && t === HUB_DATA_TYPE) c.onFrame(d);
    return true;
  });
}
