// Path redundancy for interactive lanes (issue 19 item 3): which outgoing messages of a pair leave
// as several copies, how many (from the measured loss) and on which path when (dupPlan), so a loss
// on a bad path costs an interactive flow (ping, ssh keystrokes) nothing instead of a retransmit
// timeout. Small messages of low-rate lanes only, and only while the path loses enough; bulk never
// doubles. Pure.

/** Direct-path loss from which interactive lanes go both ways (local tuning: at 2 % an ssh session
 * sees a stall every ~50 keystrokes; below it the relay's bandwidth is not worth spending). */
export const dupMinLoss = 0.02;
/** A path's loss counts only this long after the pair's data switched to it, either way (local
 * tuning: two of the once-a-second readings): the pair's reading just after a relay-to-direct switch
 * still holds the relay's and the switch's retransmits, and a fresh direct path would copy every
 * ping over the relay it just left. */
export const dupDirectSettleMs = 2_000;
/** A lane sending more than this many messages a second is bulk, not interactive (local tuning:
 * typing and ping are tens a second, but a request/response loop at 40 ms RTT sends its request, a
 * KCP ACK and the inner TCP's ACK: ~60 a second, which 50 called bulk; a TCP transfer is thousands). */
export const dupMaxLanePps = 150;
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
  /** Loss measured on the pair's path (fec-pair.ts reading), undefined when none yet. */
  readonly loss: number | undefined;
  /** The peer speaks kind 6 (fec-caps.ts). */
  readonly capable: boolean;
}

export type DupWhy = 'not-capable' | 'clean' | 'large' | 'bulk' | 'duplicate';

/** Whether to send this message over the relay too, and why (for tests and status). */
export function shouldDuplicate(i: DupInput): DupWhy {
  if (!i.capable) return 'not-capable';
  if (i.loss === undefined || i.loss < dupMinLoss) return 'clean';
  if (i.bytes > dupMaxBytes) return 'large';
  if (i.lanePps > dupMaxLanePps || i.laneBytesPerSec > dupMaxLaneBytesPerSec) return 'bulk';
  return 'duplicate';
}

/** The chance that every copy of a message is lost that the copy count aims at (local tuning: one
 * interactive message in 5,000 waits for a retransmit; an ssh session sends a few a second). */
export const dupTargetAllLost = 2e-4;
/** Never more copies than this (local tuning: 6 covers 20 % random loss to the target). */
export const dupMaxCopies = 6;
/** Copies on the same path leave this far apart (local tuning: a loss burst on a busy link or a
 * queue overflow lasts a few ms; 4 ms x 2 keeps the last copy well inside a 40 ms round trip). */
export const dupSpacingMs = 4;

/** How many copies of an interactive message: the fewest n >= 2 with loss^n <= dupTargetAllLost
 * (3 at 2-5 %, 4 at 10 %), at most dupMaxCopies. */
export function dupCopies(loss: number): number {
  let n = 2;
  while (n < dupMaxCopies && loss ** n > dupTargetAllLost * (1 + 1e-9)) n++;
  return n;
}

/** One copy of a message: over the hub relay beside the data path (else on the data path itself),
 * this long after the first. */
export interface DupCopy {
  readonly relay: boolean;
  readonly delayMs: number;
}

/**
 * Where and when the `copies` copies leave: two on the data path at once (random loss takes each
 * alone; the relay is usually the slower way round, so its copy rescues rather than races), one over
 * the relay at once when there is one beside a direct path (the paths fail independently), and the
 * rest dupSpacingMs apart, alternating relay and direct, so one short burst does not take them all.
 */
export function dupPlan(copies: number, relayBeside: boolean): DupCopy[] {
  const plan: DupCopy[] = [];
  for (let i = 0; i < copies; i++) {
    if (i < 2) plan.push({ relay: false, delayMs: 0 });
    else if (!relayBeside) plan.push({ relay: false, delayMs: (i - 1) * dupSpacingMs });
    else if (i === 2) plan.push({ relay: true, delayMs: 0 });
    else plan.push({ relay: i % 2 === 0, delayMs: (i - 2) * dupSpacingMs });
  }
  return plan;
}
