// RELAY_BUDGET (control type 64, hub -> peer, issue 19 item 6): the relay budget the hub shapes this
// member's relayed sends to (--relay-rate), so a relayed pair's sender paces at it from its first
// datagram instead of finding it by overshooting (peer/relay-budget.ts). Kept out of control.ts's
// union like HUB_LIST; sent (reliably: the peer ACKs the seq) only to peers whose REGISTER carried
// ext kind 2 (wire/control.ts REGISTER_EXT_RELAY_BUDGET), after each REGISTER_OK.
//
//   0  type u8 (64) | 1 seq u32 LE | 5 kbit_per_s u32 LE [| ignored]
//   kbit_per_s = the budget in kbit/s of the packets the member tunnels (hub/relay-queue.ts
//   relayChargeBytes); 0 = the hub relays this member without a budget. Bytes after it are ignored
//   (a newer hub may say more).
import { viewOf } from '../util/bytes.js';
import { DecodeError } from '../util/errors.js';

/** Control type of RELAY_BUDGET (protocol; 64-65 are the relay's, session 8). */
export const RELAY_BUDGET_TYPE = 64;
export const RELAY_BUDGET_BYTES = 9;
/** Protocol: the largest budget that can be said (u32 kbit/s, ~4.3 Tbit/s). */
export const RELAY_BUDGET_MAX_KBIT = 0xffff_ffff;

export interface RelayBudgetMessage {
  seq: number;
  /** kbit/s; 0 = no budget. */
  kbitPerSec: number;
}

export function encodeRelayBudget(m: RelayBudgetMessage): Uint8Array {
  if (!Number.isInteger(m.kbitPerSec) || m.kbitPerSec < 0 || m.kbitPerSec > RELAY_BUDGET_MAX_KBIT) throw new RangeError(`relay budget: ${m.kbitPerSec} kbit/s`);
  const out = new Uint8Array(RELAY_BUDGET_BYTES);
  const v = viewOf(out);
  v.setUint8(0, RELAY_BUDGET_TYPE);
  v.setUint32(1, m.seq >>> 0, true);
  v.setUint32(5, m.kbitPerSec, true);
  return out;
}

export function decodeRelayBudget(b: Uint8Array): RelayBudgetMessage {
  if (b.byteLength < RELAY_BUDGET_BYTES) throw new DecodeError(`relay budget: ${b.byteLength} bytes (need ${RELAY_BUDGET_BYTES})`);
  const v = viewOf(b);
  if (v.getUint8(0) !== RELAY_BUDGET_TYPE) throw new DecodeError(`relay budget: type ${v.getUint8(0)}`, 'DECODE_UNKNOWN_TYPE');
  return { seq: v.getUint32(1, true), kbitPerSec: v.getUint32(5, true) };
}

/** The kbit/s the hub states for a budget of `bytesPerSec` (rounded, within the field). */
export function relayBudgetKbit(bytesPerSec: number): number {
  if (!(bytesPerSec > 0)) return 0;
  return Math.min(RELAY_BUDGET_MAX_KBIT, Math.max(1, Math.round((bytesPerSec * 8) / 1000)));
}
