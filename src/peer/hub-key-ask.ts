// Learning the hub key with HUB_KEY_REQ (trust on first use, peer/hub-client.ts): builds each
// request with its nonce, says once why the hub may be silent, and verifies the answer; plus the
// error peer/hub-set.ts raises when a hub answers with a key other than the pinned one. Sends
// nothing and schedules nothing: the hub client does both.
import { buildHubKeyRequest, verifyHubKeyResponse } from '../crypto/hub-key.js';
import type { Endpoint } from '../net/udp.js';
import type { WallClock } from '../util/clock.js';
import { MeshdError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

/** The hub answered HUB_KEY_REQ with a key other than the pinned one. */
export class HubKeyMismatchError extends MeshdError {
  constructor() {
    super('HUB_KEY_MISMATCH', 'the hub key differs from the pinned one (hub.pub); refusing to talk to it');
  }
}

/** Local tuning: HUB_KEY_REQ retry, doubling up to 8 s. */
export const hubKeyFirstRetryMs = 1_000;
export const hubKeyMaxRetryMs = 8_000;
/** Local tuning: after this many unanswered HUB_KEY_REQ (1+2+4+8+8 s = 23 s) say why it may be. */
const hubKeyAsksBeforeHint = 6;

export class HubKeyAsk {
  private keyNonce: Uint8Array | undefined;
  private keyAsks = 0;

  constructor(private readonly o: { psk: Uint8Array; wallClock?: WallClock; log: Logger; hub: Endpoint }) {}

  /** Whether a request was sent (an answer is expected). */
  get asked(): boolean {
    return this.keyNonce !== undefined;
  }

  /** The next HUB_KEY_REQ datagram (its nonce kept for the answer). */
  request(): Uint8Array {
    // Silence has three usual causes, none visible from here: say them once, then keep asking.
    if (++this.keyAsks === hubKeyAsksBeforeHint) {
      this.o.log.warn(
        { hub: `${this.o.hub.address}:${this.o.hub.port}`, asks: this.keyAsks },
        'hub-client: no answer to HUB_KEY_REQ yet: is the hub up and reachable, is the network secret the same, is this clock within 3 minutes of the hub\'s? (or start with --hub-key)',
      );
    }
    const { message, nonce } = buildHubKeyRequest(this.o.psk, (this.o.wallClock ?? Date.now)());
    this.keyNonce = nonce;
    return message;
  }

  /** The key of a HUB_KEY_RESP that verifies against the last request; undefined otherwise. */
  verify(d: Uint8Array): Uint8Array | undefined {
    if (!this.keyNonce) return undefined;
    return verifyHubKeyResponse(this.o.psk, d, this.keyNonce);
  }
}
