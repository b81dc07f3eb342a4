// Every send from the hub to a member: to its latest authenticated source, within the
// anti-amplification budget while that endpoint is unproven (endpoint-guard.ts), and the member's one
// reliable sender (MAP parts, PUNCH and STREAM_OPEN draw their seqs from it, so they are unique per
// member). hub/server.ts dispatches through it and publish/hub-publisher.ts sends through the slice
// it declares, so neither of those two needs the other to reach a member; hub/hub.ts builds it.
import { keyId } from '../link/key-id.js';
import type { Link } from '../link/link.js';
import { ReliableSender } from '../link/reliable.js';
import type { Clock } from '../util/clock.js';
import { encodeControl, type ControlMessage } from '../wire/control.js';
import { encodeInner, InnerKind } from '../wire/inner.js';
import { reliableMaxPendingPerMember } from './control-budget.js';
import { EndpointGuard } from './endpoint-guard.js';

/** Who a send is for (structurally hub/registry.ts Member). */
export interface Addressee {
  id: string;
  publicKey: Uint8Array;
}

export class MemberSender {
  /** Sends refused (shown in hub status as control_<reason>, after the server's own). */
  readonly drops = { reliable_full: 0, unproven_endpoint: 0 };
  /** Sends to a member's unproven endpoint are limited to 3x what came from it (endpoint-guard.ts). */
  readonly guard: EndpointGuard;
  private readonly reliable = new Map<string, ReliableSender>();

  constructor(
    private readonly link: Link,
    private readonly clock: Clock,
    randomTxid: () => bigint,
  ) {
    this.guard = new EndpointGuard(randomTxid);
  }

  reliableOf(id: string): ReliableSender {
    let r = this.reliable.get(id);
    if (!r) {
      r = new ReliableSender(this.clock, 1, reliableMaxPendingPerMember);
      this.reliable.set(id, r);
    }
    return r;
  }

  /** Reliable messages pending to one member (tests: bounded state). */
  pendingFor(id: string): number {
    return this.reliable.get(id)?.inFlight ?? 0;
  }

  /** A control message to a member, retransmitted until ACK(seq); onGiveUp when never acked or
   * when the member's pending budget is full. */
  sendReliable(m: Addressee, make: (seq: number) => ControlMessage, onGiveUp?: () => void): void {
    const rel = this.reliableOf(m.id);
    const msg = make(rel.nextSeq());
    if (rel.track(msg.seq, () => this.sendControl(m.publicKey, msg), onGiveUp)) return;
    this.drops.reliable_full++;
    onGiveUp?.();
  }

  /** Like sendReliable for a control body encoded elsewhere (wire/acl.ts); `make` writes the seq. */
  sendReliableBody(m: Addressee, make: (seq: number) => Uint8Array, onGiveUp: () => void, onSettled?: () => void): void {
    const rel = this.reliableOf(m.id);
    const seq = rel.nextSeq();
    const inner = encodeInner({ kind: InnerKind.CONTROL, body: make(seq) });
    if (rel.track(seq, () => this.sendTo(m.id, m.publicKey, inner), onGiveUp, onSettled)) return;
    this.drops.reliable_full++;
    onGiveUp();
    onSettled?.();
  }

  /** A control message once (answers, and each transmission of a reliable one). */
  sendControl(publicKey: Uint8Array, msg: ControlMessage): void {
    this.sendTo(keyId(publicKey), publicKey, encodeInner({ kind: InnerKind.CONTROL, body: encodeControl(msg) }));
  }

  /** Every send to a member goes through here: to its latest authenticated source, within the
   * anti-amplification budget while that endpoint is unproven (issue 17 M2). */
  sendTo(id: string, publicKey: Uint8Array, inner: Uint8Array): boolean {
    const path = this.link.remote(publicKey)?.path;
    if (path?.kind === 'udp' && !this.guard.allow(id, path.endpoint, inner.byteLength)) {
      this.drops.unproven_endpoint++;
      const txid = this.guard.retry(id, this.clock.now());
      if (txid !== undefined) this.sendTo(id, publicKey, encodeInner({ kind: InnerKind.PING, txid, flags: 0 }));
      return false;
    }
    return this.link.send(publicKey, inner);
  }

  /** An ACK for a reliable control message (not a MAP part: hub/map-sender.ts takes those). */
  acked(id: string, seq: number): void {
    this.reliable.get(id)?.ack(seq);
  }

  /** The member left: its pending messages are cancelled and its endpoint forgotten. */
  forget(id: string): void {
    this.reliable.get(id)?.cancelAll();
    this.reliable.delete(id);
    this.guard.forget(id);
  }

  close(): void {
    for (const r of this.reliable.values()) r.cancelAll();
  }
}

