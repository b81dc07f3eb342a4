// Hub-to-hub signals of several hubs sharing one network (issue 24 item 3): a PUNCH for a member
// homed on another hub. Carried by the state's bus (hub/nats-state.ts: NATS core subject
// <bucket prefix>.hub.<hubId>); never seen by peers. Used by hub/cluster-forward.ts. Relayed data
// never goes on the bus: it goes hub to hub over UDP (wire/hub-data.ts, hub/hub-channel.ts).
//
//   0  type u8 | 1 from overlay u32 BE | 5 to overlay u32 BE | 9 body
//   PUNCH_FORWARD (50)  body = a PUNCH control message (wire/control.ts) about `from` for `to`, seq 0
//                       (the receiving hub sends it to `to` under its own sequence number)
//   51 was RELAY_FORWARD (a relayed datagram on the bus): retired, decoded as an unknown type
// Protocol: every hub of a network must agree on it (hubs of one version run together).
import { DecodeError } from '../util/errors.js';
import { ControlType, decodeControl, encodeControl, type ControlMessage } from '../wire/control.js';

export const SIGNAL_HEADER_BYTES = 9;

export enum SignalType {
  PUNCH_FORWARD = 50,
}

export const signalTypeName: Readonly<Record<SignalType, string>> = {
  [SignalType.PUNCH_FORWARD]: 'PUNCH_FORWARD',
};

export type PunchMessage = Extract<ControlMessage, { type: ControlType.PUNCH }>;

export type Signal = { type: SignalType.PUNCH_FORWARD; from: number; to: number; punch: PunchMessage };

export function encodeSignal(s: Signal): Uint8Array {
  const body = encodeControl({ ...s.punch, seq: 0 });
  const out = new Uint8Array(SIGNAL_HEADER_BYTES + body.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, s.type);
  v.setUint32(1, s.from >>> 0, false);
  v.setUint32(5, s.to >>> 0, false);
  out.set(body, SIGNAL_HEADER_BYTES);
  return out;
}

export function decodeSignal(b: Uint8Array): Signal {
  if (b.byteLength < SIGNAL_HEADER_BYTES) throw new DecodeError(`signal: ${b.byteLength} bytes, header is ${SIGNAL_HEADER_BYTES}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = v.getUint8(0);
  const from = v.getUint32(1, false);
  const to = v.getUint32(5, false);
  const body = b.subarray(SIGNAL_HEADER_BYTES);
  if (type !== SignalType.PUNCH_FORWARD) throw new DecodeError(`signal: unknown type ${type}`, 'DECODE_UNKNOWN_TYPE');
  const punch = decodeControl(body);
  if (punch.type !== ControlType.PUNCH) throw new DecodeError(`signal: PUNCH_FORWARD carries control type ${punch.type}`);
  if (punch.seq !== 0) throw new DecodeError('signal: PUNCH_FORWARD carries a sequence number');
  if (punch.overlay >>> 0 !== from) throw new DecodeError('signal: PUNCH_FORWARD is about another member than its sender');
  return { type, from, to, punch };
}
