// Path redundancy for interactive lanes (issue 19 item 3): which outgoing messages of a pair are
// also sent over the hub relay beside the direct path, so one loss on a bad direct path costs an
// interactive flow (ping, ssh keystrokes) nothing instead of a retransmit timeout. Small messages of
// low-rate lanes only, and only while the direct path loses enough; bulk never doubles. Pure.

/** Direct-path loss from which interactive lanes go both ways (local tuning: at 2 % an ssh session
 * sees a stall every ~50 keystrokes; below it the relay's bandwidth is not worth spending). */
export const dupMinLoss = 0.02;
/** A direct path's loss counts only this long after the pair went direct (local tuning: two of the
 * once-a-second readings): the pair's reading just after a relay-to-direct switch still holds the
 * relay's and the switch's retransmits, and a fresh direct path would double every ping over the
 * relay it just left. */
export const dupDirectSettleMs = 2_000;
/** A lane sending more than this many messages a second is bulk, not interactive (local tuning:
 * typing and ping are tens a second; a TCP transfer is thousands). */
export const dupMaxLanePps = 50;
/** ...or more than this many bytes a second (local tuning: 64 kbit/s, a busy terminal). */
export const dupMaxLaneBytesPerSec = 8_000;
/** Messages larger than this are never doubled (local tuning: a keystroke or ping with headers). */
export const dupMaxBytes = 300;

export interface DupInput {
  /** The message (inner, with its kind byte). */
  readonly bytes: number;
  /** The message's lane sent this many messages and bytes over the last second, this one included. */
  readonly lanePps: number;
  readonly laneBytesPerSec: number;
  /** The pair's data takes a direct path now (else the relay already carries it: nothing to add). */
  readonly direct: boolean;
  /** Loss measured on the direct path (fec-pair.ts reading), undefined when none yet. */
  readonly loss: number | undefined;
  /** The peer speaks kind 6 (fec-caps.ts). */
  readonly capable: boolean;
}

export type DupWhy = 'not-capable' | 'relayed' | 'clean' | 'large' | 'bulk' | 'duplicate';

/** Whether to send this message over the relay too, and why (for tests and status). */
export function shouldDuplicate(i: DupInput): DupWhy {
  if (!i.capable) return 'not-capable';
  if (!i.direct) return 'relayed';
  if (i.loss === undefined || i.loss < dupMinLoss) return 'clean';
  if (i.bytes > dupMaxBytes) return 'large';
  if (i.lanePps > dupMaxLanePps || i.laneBytesPerSec > dupMaxLaneBytesPerSec) return 'bulk';
  return 'duplicate';
}
