// The hub's answer to TRANSPORT_PROBE (wire/probe.ts): an echo on the leg the probe came from, so a
// peer can tell whether UDP to the hub works and how lossy each leg is. Stateless, 32 bytes out for
// 64 in, only to probes carrying the network secret's MAC (crypto/transport-probe.ts), under a
// global rate; net/stream-hub-socket.ts calls it before the link sees a datagram.
import { openProbe, sealProbeReply } from '../crypto/transport-probe.js';
import type { Endpoint } from '../net/udp.js';
import { TokenBucket } from '../util/token-bucket.js';
import { probeTypeOf, ProbeType } from '../wire/probe.js';

/** Local tuning: 5,000 answers a second covers 5,000 peers probing at the 1/s worst case (auto mode
 * probes that often only while deciding); past it probes go unanswered, which peers read as loss. */
export const probeAnswersPerSec = 5000;

export class ProbeResponder {
  readonly counters = { answered: 0, rateLimited: 0, malformed: 0, badMac: 0 };
  private readonly bucket: TokenBucket;

  constructor(
    private readonly now: () => number,
    /** crypto/transport-probe.ts transportProbeKey(psk). */
    private readonly key: Uint8Array,
    ratePerSec = probeAnswersPerSec,
  ) {
    this.bucket = new TokenBucket(ratePerSec, ratePerSec, now());
  }

  /** True when `d` was a probe (answered or dropped); false leaves it to the link. */
  handle(d: Uint8Array, from: Endpoint, send: (reply: Uint8Array, to: Endpoint) => void): boolean {
    const t = probeTypeOf(d);
    if (t === undefined) return false;
    if (t !== ProbeType.Probe) return true; // a reply sent to the hub: nobody asked
    // The MAC first: forged probes must not use up the members' answer budget (one HMAC each, as
    // the link pays for a handshake's mac1).
    const p = openProbe(this.key, d);
    if (p === 'malformed') this.counters.malformed++;
    else if (p === 'bad_mac') this.counters.badMac++;
    else if (!this.bucket.take(this.now())) this.counters.rateLimited++;
    else {
      this.counters.answered++;
      send(sealProbeReply(this.key, p), from);
    }
    return true;
  }
}
