// Asks the hub's ports what they see of a socket (NAT_PROBE, wire/nat-probe.ts) and matches the
// authenticated replies. A reply counts only if its MAC is good, its txid is one we sent and not yet
// answered, and it comes from the hub address and the port the reply says: a forged or replayed
// reply is dropped and counted. Used by nat/classifier.ts.
import { randomBytes } from 'node:crypto';
import { natProbeKey, openNatProbeReply, sealNatProbe } from '../crypto/nat-probe.js';
import { sameEndpoint, type Endpoint } from '../net/udp.js';
import type { Clock, TimerHandle, WallClock } from '../util/clock.js';
import { toHex } from '../util/bytes.js';
import { NAT_PROBE_FLAG_OTHER_PORT, NAT_PROBE_TXID_SIZE } from '../wire/nat-probe.js';

export interface ProbeAnswer {
  observed: Endpoint;
  rttMs: number;
  /** The hub port the reply came from. */
  hubPort: number;
}

/** Local tuning: a probe unanswered this long is sent again (with a new txid: the hub answers each once). */
export const probeResendMs = 400;
/** Local tuning: attempts per question (loss on the way there or back). */
export const probeAttempts = 3;

interface Waiting {
  sentMs: number;
  /** Where the reply must come from. */
  from: Endpoint;
  done: (a: ProbeAnswer) => void;
}

export class Prober {
  readonly drops = { bad_mac: 0, unknown_txid: 0, wrong_source: 0 };
  sent = 0;
  private readonly key: Uint8Array;
  private readonly waiting = new Map<string, Waiting>();

  constructor(
    psk: Uint8Array,
    private readonly clock: Clock,
    private readonly wallClock: WallClock,
    private readonly rand: (n: number) => Uint8Array = (n) => new Uint8Array(randomBytes(n)),
  ) {
    this.key = natProbeKey(psk);
  }

  /**
   * Asks `to` (a hub port) what it sees of the socket `send` uses; with otherPort the reply must come
   * from `otherPort` instead (the filtering question). Resolves undefined after probeAttempts unanswered.
   */
  ask(send: (d: Uint8Array, to: Endpoint) => void, to: Endpoint, otherPort?: number): Promise<ProbeAnswer | undefined> {
    return new Promise((resolve) => {
      const ids: string[] = [];
      let timer: TimerHandle | undefined;
      let settled = false;
      const finish = (a: ProbeAnswer | undefined) => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) this.clock.clearTimer(timer);
        for (const id of ids) this.waiting.delete(id);
        resolve(a);
      };
      const attempt = (n: number) => {
        if (settled) return;
        if (n >= probeAttempts) return finish(undefined);
        const txid = this.rand(NAT_PROBE_TXID_SIZE);
        const id = toHex(txid);
        ids.push(id);
        const from = otherPort === undefined ? to : { address: to.address, port: otherPort };
        this.waiting.set(id, { sentMs: this.clock.now(), from, done: finish });
        this.sent++;
        send(sealNatProbe(this.key, { flags: otherPort === undefined ? 0 : NAT_PROBE_FLAG_OTHER_PORT, txid, timestampMs: Math.floor(this.wallClock()) }), to);
        timer = this.clock.setTimer(probeResendMs, () => attempt(n + 1));
      };
      attempt(0);
    });
  }

  /** A NAT_PROBE_REPLY reached one of our sockets. */
  onReply(d: Uint8Array, from: Endpoint): void {
    const r = openNatProbeReply(this.key, d);
    if (!r) {
      this.drops.bad_mac++;
      return;
    }
    const id = toHex(r.txid);
    const w = this.waiting.get(id);
    if (!w) {
      this.drops.unknown_txid++;
      return;
    }
    if (!sameEndpoint(w.from, from) || r.hubPort !== from.port) {
      this.drops.wrong_source++;
      return;
    }
    this.waiting.delete(id);
    w.done({ observed: r.observed, rttMs: this.clock.now() - w.sentMs, hubPort: r.hubPort });
  }
}
