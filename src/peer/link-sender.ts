// The data path's way out: channel.ts PeerSender implemented over the Link. Seals one inner
// message for a record on its current path (the direct endpoint PeerPaths chose, else the hub relay)
// and counts it on the record. Reads the record's fields only: no map or path lookups per packet,
// and none of the control plane (registration, punching, publishing) on the way.
import type { Link } from '../link/link.js';
import type { RxCounts } from '../link/remote.js';
import type { Clock } from '../util/clock.js';
import type { PeerSender } from './channel.js';
import type { RemotePeer } from './remote-peer.js';

export class LinkSender implements PeerSender {
  private closed = false;

  constructor(
    private readonly link: Pick<Link, 'send'> & Partial<Pick<Link, 'remote'>>,
    private readonly clock: Clock,
  ) {}

  send(peer: RemotePeer, inner: Uint8Array): boolean {
    if (!peer.listed || this.closed) return false;
    const now = this.clock.now();
    const paths = peer.paths;
    paths.noteData(now);
    const d = paths.current(now);
    const ok = this.link.send(peer.publicKey, inner, d ? d.via : peer.relay);
    if (ok) peer.traffic.wire('out', d ? d.kind : 'relay', inner.byteLength);
    return ok;
  }

  /** Path redundancy (dup-stage.ts): the same over the hub relay, whatever path data takes. */
  sendRelay(peer: RemotePeer, inner: Uint8Array): boolean {
    if (!peer.listed || this.closed) return false;
    const ok = this.link.send(peer.publicKey, inner, peer.relay);
    if (ok) peer.traffic.wire('out', 'relay', inner.byteLength);
    return ok;
  }

  /** The pair's data takes a direct path now (dup-stage.ts). */
  isDirect(peer: RemotePeer): boolean {
    return peer.paths.current(this.clock.now()) !== undefined;
  }

  /** The peer's datagrams we accepted and the counters they skipped (link/remote.ts RxCounts): the
   * loss on its way to us, read by interactive-datagram.ts. Undefined before the first. */
  rxCounts(peer: RemotePeer): Readonly<RxCounts> | undefined {
    return this.link.remote?.(peer.publicKey)?.rx;
  }

  /** From now on every send() is refused (the node is stopping). */
  close(): void {
    this.closed = true;
  }
}
