// The table of RemotePeer records, one per remote peer, keyed by public key (hex id, what the link
// reports) and reachable by destination through the route table (route-table.ts: each record adds
// its prefixes, the overlay /32 today). Owned by PeerNode, which feeds it the map's events; the
// data path looks a record up once per packet (outbound: lookup(dst); inbound: get(id)).
import { relayPath } from '../link/path.js';
import type { Clock } from '../util/clock.js';
import { pairConv } from './conv.js';
import { PeerPaths } from './peer-paths.js';
import type { PeerInfo } from './peer-map.js';
import { RemotePeer, type Prefix } from './remote-peer.js';
import { RouteTable } from './route-table.js';
import { RouteTable6 } from './route-table6.js';
import { parseIpv6 } from '../util/ipv6-prefix.js';

/** Local tuning: how long the record (and KCP channel) of a peer that left the map is kept in case
 * a restarted hub lists it again with the same boot id: resetting only our end would desynchronise
 * the two KCP ends. */
export const departedChannelKeepMs = 5 * 60_000;

export interface RemotePeersOptions {
  /** Our boot id: with the remote's, it makes the pair's KCP conv. */
  bootId: bigint;
  clock: Clock;
  random01: () => number;
}

export class RemotePeers {
  private readonly byId = new Map<string, RemotePeer>();
  private readonly routes = new RouteTable<RemotePeer>();
  /** Overlay IPv6 addresses (/128 each) -> record. */
  private readonly routes6 = new RouteTable6<RemotePeer>();

  constructor(private readonly o: RemotePeersOptions) {}

  /** The record of a public key (hex), listed or recently departed. */
  get(id: string): RemotePeer | undefined {
    return this.byId.get(id);
  }

  /** The record a destination routes to (longest prefix), or undefined. */
  lookup(dst: number): RemotePeer | undefined {
    return this.routes.lookup(dst);
  }

  /** The record owning the IPv6 destination at p[off] (16 bytes), or undefined. */
  lookup6(p: Uint8Array, off = 0): RemotePeer | undefined {
    return this.routes6.lookup(p, off);
  }

  values(): IterableIterator<RemotePeer> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }

  /**
   * The map added or changed this peer. A new boot id (it restarted) changes the conv and closes
   * the channel; the same boot id keeps it, so both KCP ends stay in step.
   */
  upsert(info: PeerInfo): RemotePeer {
    const conv = pairConv(this.o.bootId, info.bootId);
    let rec = this.byId.get(info.id);
    if (!rec) {
      rec = new RemotePeer(info, conv, new PeerPaths(this.o.clock.now(), this.o.random01));
      this.byId.set(info.id, rec);
    } else {
      const moved = rec.overlay !== info.overlay;
      rec.info = info;
      rec.listed = true;
      if (rec.conv !== conv) {
        rec.conv = conv;
        rec.closeChannel();
      }
      if (moved) rec.relay = relayPath(info.overlay);
    }
    this.setPrefixes(rec, [{ network: info.overlay >>> 0, length: 32 }]);
    this.setOverlay6(rec, info.overlay6 !== undefined ? parseIpv6(info.overlay6) : undefined);
    return rec;
  }

  /** The map removed this peer: unlisted now, forgotten after departedChannelKeepMs unless listed again. */
  remove(id: string): void {
    const rec = this.byId.get(id);
    if (!rec) return;
    rec.listed = false;
    rec.link = undefined;
    rec.paths = new PeerPaths(this.o.clock.now(), this.o.random01);
    if (!rec.channel) return this.drop(rec);
    this.o.clock.setTimer(departedChannelKeepMs, () => {
      if (!rec.listed && this.byId.get(id) === rec) this.drop(rec);
    });
  }

  /** Replaces the prefixes routed to `rec`. A departed record that held one of them is dropped. */
  setPrefixes(rec: RemotePeer, prefixes: readonly Prefix[]): void {
    for (const p of rec.prefixes) if (this.routes.getExact(p.network, p.length) === rec) this.routes.delete(p.network, p.length);
    rec.prefixes = prefixes;
    for (const p of prefixes) {
      const holder = this.routes.getExact(p.network, p.length);
      if (holder && holder !== rec && !holder.listed) this.drop(holder);
      this.routes.set(p.network, p.length, rec);
    }
  }

  /** Routes the record's overlay IPv6 /128 (replacing its previous one); a departed holder is dropped. */
  private setOverlay6(rec: RemotePeer, a: Uint8Array | undefined): void {
    if (rec.overlay6 && this.routes6.getExact(rec.overlay6, 128) === rec) this.routes6.delete(rec.overlay6, 128);
    rec.overlay6 = a;
    if (!a) return;
    const holder = this.routes6.getExact(a, 128);
    if (holder && holder !== rec && !holder.listed) this.drop(holder);
    this.routes6.set(a, 128, rec);
  }

  /** Closes every channel and forgets every record. */
  clear(): void {
    for (const rec of this.byId.values()) rec.closeChannel();
    this.byId.clear();
    this.routes.clear();
    this.routes6.clear();
  }

  private drop(rec: RemotePeer): void {
    rec.closeChannel();
    for (const p of rec.prefixes) if (this.routes.getExact(p.network, p.length) === rec) this.routes.delete(p.network, p.length);
    if (rec.overlay6 && this.routes6.getExact(rec.overlay6, 128) === rec) this.routes6.delete(rec.overlay6, 128);
    if (this.byId.get(rec.id) === rec) this.byId.delete(rec.id);
  }
}
