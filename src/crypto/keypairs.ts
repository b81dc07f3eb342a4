// Key rotation for one remote (wireguard-go's current/previous/next): sessions from successive
// handshakes with one peer. Sending always uses `current`. A responder's new session waits in `next`
// until the initiator's first packet on it arrives (proof the initiator has the keys), so the
// responder never sends on keys the initiator might not hold; the old session stays in `previous`
// so packets sealed before the switch still open. Used by src/link, one instance per remote.
import { transportReceiverIndex } from '../wire/transport.js';
import type { TransportSession } from './session.js';

export class Keypairs {
  current?: TransportSession;
  previous?: TransportSession;
  /** Responder side only: handshake done, not yet confirmed by a received packet. */
  next?: TransportSession;
  /** Datagrams whose receiver_index is none of ours (open() returned undefined before any AEAD). */
  unknownIndex = 0;

  /** `onRetire` runs for each session dropped, so the runtime can free its local index. */
  constructor(private readonly onRetire?: (s: TransportSession) => void) {}

  private retire(s: TransportSession | undefined): void {
    if (s !== undefined) this.onRetire?.(s);
  }

  /** Installs the session of a completed handshake. Initiator: it becomes `current` at once (the
   * responder already holds the keys); the unconfirmed `next`, if any, becomes `previous`, else the
   * old current does. Responder: it waits in `next`; `current` keeps sending meanwhile. */
  onHandshakeComplete(s: TransportSession): void {
    if (s.isInitiator) {
      if (this.next !== undefined) {
        this.retire(this.previous);
        this.retire(this.current);
        this.previous = this.next;
        this.next = undefined;
      } else {
        this.retire(this.previous);
        this.previous = this.current;
      }
      this.current = s;
    } else {
      this.retire(this.next);
      this.retire(this.previous);
      this.previous = undefined;
      this.next = s;
    }
  }

  /** The session whose localIndex is `index`, if it is one of ours. */
  openByIndex(index: number): TransportSession | undefined {
    if (this.current?.localIndex === index) return this.current;
    if (this.next?.localIndex === index) return this.next;
    if (this.previous?.localIndex === index) return this.previous;
    return undefined;
  }

  /** A packet authenticated on `s`: if `s` is `next`, it is confirmed and rotates in (true). */
  received(s: TransportSession): boolean {
    if (s !== this.next) return false;
    this.retire(this.previous);
    this.previous = this.current;
    this.current = s;
    this.next = undefined;
    return true;
  }

  /** Finds the session by receiver_index, opens, confirms `next` on success. Undefined when the
   * index is unknown (counted in unknownIndex) or the session drops it (counted in its drops). */
  open(datagram: Uint8Array, nowMs: number): Uint8Array | undefined {
    if (datagram.byteLength < 8) {
      this.unknownIndex++;
      return undefined;
    }
    const s = this.openByIndex(transportReceiverIndex(datagram));
    if (s === undefined) {
      this.unknownIndex++;
      return undefined;
    }
    const pt = s.open(datagram, nowMs);
    if (pt !== undefined) this.received(s);
    return pt;
  }

  /** Seals on `current`; undefined when there is none or it may not send (the runtime then queues
   * and starts a handshake). */
  seal(plaintext: Uint8Array, nowMs: number): Uint8Array | undefined {
    return this.current?.seal(plaintext, nowMs);
  }

  /** Drops expired sessions (call from the runtime's timer). */
  expire(nowMs: number): void {
    if (this.current?.expired(nowMs)) {
      this.retire(this.current);
      this.current = undefined;
    }
    if (this.previous?.expired(nowMs)) {
      this.retire(this.previous);
      this.previous = undefined;
    }
    if (this.next?.expired(nowMs)) {
      this.retire(this.next);
      this.next = undefined;
    }
  }

  /** Drops every session (peer removed, or restart detected). */
  clear(): void {
    this.retire(this.current);
    this.retire(this.previous);
    this.retire(this.next);
    this.current = this.previous = this.next = undefined;
  }
}
