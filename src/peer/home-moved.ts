// HOME_MOVED (peer/hub-set.ts): after a much-faster move of home, the old home, which still answers,
// is told once the new home registered us, rather than left to hold us as its member until our
// heartbeats expire there. A few sends, 1 s apart, until ACKed; never retried beyond (it only saves
// the old hub's timeouts). Sends through the Link it is given; the hub set's tick drives it.
import type { Link } from '../link/link.js';
import { DecodeError } from '../util/errors.js';
import { encodeInner, InnerKind } from '../wire/inner.js';
import { ControlType, decodeControl, encodeControl } from '../wire/control.js';
import type { HomeReason } from './hub-choice.js';
import type { HubEntry } from './hub-entry.js';

/** Local tuning: HOME_MOVED to the old home after a much-faster move, sent this many times at most
 * (1 s apart) until ACKed: it only saves the old hub's timeouts, so it is never retried beyond. */
const movedSends = 3;
const movedResendMs = 1_000;

export class HomeMoved {
  /** HOME_MOVED sent and ACKed (status, tests). */
  readonly counts = { sent: 0, acked: 0 };
  /** After a much-faster move: the old home, told HOME_MOVED once the new home registered us. */
  private moved: { hub: HubEntry; seq: number; sends: number; lastMs: number } | undefined;

  constructor(private readonly link: Link) {}

  /** Home switched from `from` (undefined at the first choice): only a voluntary move is told. */
  switched(from: HubEntry | undefined, reason: Exclude<HomeReason, 'stay'>): void {
    this.moved = from && reason === 'much-faster' && from.key ? { hub: from, seq: (Math.random() * 2 ** 32) >>> 0, sends: 0, lastMs: -Infinity } : undefined;
  }

  /** Whether `h` is the old home being told. */
  isOldHome(h: HubEntry): boolean {
    return this.moved?.hub === h;
  }

  /** HOME_MOVED to the old home once the new one registered us (at most movedSends, until ACKed). */
  tell(now: number, registered: boolean, home: HubEntry | undefined): void {
    const m = this.moved;
    if (!m || !registered || now - m.lastMs < movedResendMs) return;
    if (m.sends >= movedSends || m.hub === home || !m.hub.key) {
      this.moved = undefined;
      return;
    }
    m.sends++;
    m.lastMs = now;
    this.counts.sent++;
    this.link.send(m.hub.key, encodeInner({ kind: InnerKind.CONTROL, body: encodeControl({ type: ControlType.HOME_MOVED, seq: m.seq }) }), m.hub.path);
  }

  /** True when `body` is the old home's ACK of our HOME_MOVED (consumed). */
  ack(body: Uint8Array): boolean {
    try {
      const msg = decodeControl(body);
      if (msg.type !== ControlType.ACK || msg.seq !== this.moved?.seq) return false;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return false;
    }
    this.moved = undefined;
    this.counts.acked++;
    return true;
  }
}
