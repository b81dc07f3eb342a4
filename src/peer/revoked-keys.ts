// Keys the hub operator revoked (REVOKED from the hub, wire/acl.ts): node.ts closes this peer's
// sessions with them and its link refuses their handshakes, so a revoked machine loses its direct
// paths within seconds, not only its hub membership. In memory: the hub sends the whole list again
// at every registration.
import { keyId } from '../link/key-id.js';
import { DecodeError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { decodeRevoked } from '../wire/acl.js';

export class RevokedKeys {
  private readonly ids = new Set<string>();
  readonly counters = { received: 0, malformed: 0 };

  constructor(
    private readonly ack: (seq: number) => void,
    /** Closes the sessions with a key just revoked. */
    private readonly onRevoked: (publicKey: Uint8Array) => void,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.ids.size;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** A REVOKED body from the hub's session. */
  receive(body: Uint8Array): void {
    let m;
    try {
      m = decodeRevoked(body);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.counters.malformed++;
      return;
    }
    this.counters.received++;
    this.ack(m.seq);
    for (const k of m.keys) {
      const id = keyId(k);
      if (this.ids.has(id)) continue;
      this.ids.add(id);
      this.log.warn({ peer: id.slice(0, 8) }, 'peer: key revoked by the hub operator; sessions closed, handshakes refused');
      this.onRevoked(k);
    }
  }
}
