// Anti-amplification for the hub's sends to a member (issue 17 M2; QUIC's address validation,
// RFC 9000 8.1): the hub follows a member's latest authenticated source, and a member can forge
// that source. Until the member proves it receives at the new endpoint (it echoes a random txid the
// hub sent there in a PING), the hub sends it at most `amplificationFactor` times the bytes it
// received from it. Pure apart from the txid source; hub/server.ts does the I/O.
import type { Endpoint } from '../net/udp.js';

/** Local policy: bytes sent to an unvalidated endpoint per byte received from it (QUIC's 3). */
export const amplificationFactor = 3;
/** Local tuning: a challenge is sent again at most this often while the endpoint stays unproven. */
export const challengeRetryMs = 1_000;
/** Local tuning: endpoints remembered as proven per member (a peer moving between two networks). */
export const provenEndpointsKept = 4;
/** Bytes a challenge PING costs (inner PING: kind + txid + flags). */
export const challengeBytes = 10;

/** Whether `bytes` more may go to an endpoint (pure). Counted in plaintext bytes both ways: the same
 * per-datagram overhead is added to each side, so on the wire the ratio is lower still. */
export function sendAllowed(proven: boolean, receivedBytes: number, sentBytes: number, bytes: number, factor = amplificationFactor): boolean {
  return proven || sentBytes + bytes <= factor * receivedBytes;
}

const key = (e: Endpoint) => `${e.address}|${e.port}`;

interface State {
  current: string;
  /** The Endpoint object `current` was last made from: the native socket hands the same object for
   * every datagram from one source (net/udp-native.ts), so each ACK and MAP part of a fan-out
   * finds its key without building the string again. */
  currentEp: Endpoint | undefined;
  /** `current` is in `proven` (kept with it). */
  currentProven: boolean;
  proven: string[];
  received: number;
  sent: number;
  txid: bigint | undefined;
  challengedMs: number;
}

export class EndpointGuard {
  readonly counters = { challenges: 0, validated: 0, blocked: 0, blockedBytes: 0 };
  private readonly state = new Map<string, State>();

  constructor(private readonly randomTxid: () => bigint) {}

  /** An authenticated message of `bytes` from member `id` at `from`; returns the txid of a
   * challenge to send now (the endpoint is new, or its last challenge is stale), else undefined. */
  received(id: string, from: Endpoint, bytes: number, nowMs: number, handshakeProven?: Endpoint): bigint | undefined {
    let s = this.state.get(id);
    if (s === undefined || s.currentEp !== from) {
      const k = key(from);
      if (!s) {
        s = { current: k, currentEp: from, currentProven: false, proven: [], received: 0, sent: 0, txid: undefined, challengedMs: -Infinity };
        this.state.set(id, s);
      } else if (s.current !== k) {
        Object.assign(s, { current: k, currentEp: from, currentProven: s.proven.includes(k), received: 0, sent: 0, txid: undefined, challengedMs: -Infinity });
      } else s.currentEp = from;
    }
    s.received += bytes;
    // The endpoint our last handshake message reached (link.ts provenPath) needs no challenge.
    if (handshakeProven !== undefined && !(handshakeProven === s.currentEp && s.proven[0] === s.current)) this.prove(s, key(handshakeProven));
    return this.challenge(s, nowMs);
  }

  /** A send to the member was just blocked: the challenge again if it is due (it or its echo may
   * have been lost, and the member may have nothing more to send), else undefined. */
  retry(id: string, nowMs: number): bigint | undefined {
    const s = this.state.get(id);
    return s === undefined ? undefined : this.challenge(s, nowMs);
  }

  /** The challenge to send now, if any: one txid per endpoint (a late echo of an earlier copy still
   * counts), repeated at most every `challengeRetryMs`, and within the endpoint's budget. */
  private challenge(s: State, nowMs: number): bigint | undefined {
    if (s.currentProven || nowMs - s.challengedMs < challengeRetryMs) return undefined;
    if (!sendAllowed(false, s.received, s.sent, challengeBytes)) return undefined;
    s.txid ??= this.randomTxid();
    s.challengedMs = nowMs;
    this.counters.challenges++;
    return s.txid;
  }

  /** A PONG from the member: true when it proves the current endpoint (just now). */
  answered(id: string, from: Endpoint, txid: bigint): boolean {
    const s = this.state.get(id);
    if (!s || s.txid === undefined || s.txid !== txid || s.current !== key(from)) return false;
    s.txid = undefined;
    this.prove(s, s.current);
    this.counters.validated++;
    return true;
  }

  private prove(s: State, k: string): void {
    if (s.proven[0] !== k) s.proven = [k, ...s.proven.filter((p) => p !== k)].slice(0, provenEndpointsKept);
    s.currentProven = s.proven.includes(s.current);
  }

  /** May `bytes` go to the member at `to` (where the link will send: its latest authenticated
   * source) now? Counts them when yes, the drop when no. An endpoint other than the one the guard
   * last heard (a KEEPALIVE, which the link swallows, moved it) has no budget unless proven. A
   * remote the guard does not track (not a member: REGISTER_REFUSED, an ACK) is answered 1:1. */
  allow(id: string, to: Endpoint, bytes: number): boolean {
    const s = this.state.get(id);
    if (!s) return true;
    if (to === s.currentEp && s.currentProven) return true; // every send of a fan-out to a settled member
    const k = key(to);
    const proven = s.proven.includes(k);
    const current = k === s.current;
    if (proven || (current && sendAllowed(false, s.received, s.sent, bytes))) {
      if (!proven) s.sent += bytes;
      return true;
    }
    this.counters.blocked++;
    this.counters.blockedBytes += bytes;
    return false;
  }

  proven(id: string): boolean {
    const s = this.state.get(id);
    return s !== undefined && s.proven.includes(s.current);
  }

  tracks(id: string): boolean {
    return this.state.has(id);
  }

  forget(id: string): void {
    this.state.delete(id);
  }

  get size(): number {
    return this.state.size;
  }
}
