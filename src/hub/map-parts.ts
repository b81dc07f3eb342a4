// MAP parts built from bytes: each map entry is encoded once (when its member changes) and a part is
// the MAP header plus the entries' bytes, wrapped as an inner CONTROL message once; the same part is
// sent to every member that needs it with only the seq written in. Used by hub/map-sender.ts.
//
// Layout relied on (wire/control.ts): control = type u8 | seq u32 LE | body; MAP body = version u32 |
// base u32 | part u16 | parts u16 | count u16 LE (the last field of MAP_HEADER_BYTES) | entries, each
// entry exactly the bytes encodeControl writes for it. test/hub/map-parts.test.ts checks a built part
// byte for byte against encodeControl, so a codec change that breaks this fails there.
import { ControlType, encodeControl, MAP_HEADER_BYTES, type MapEntry } from '../wire/control.js';
import { encodeInner, InnerKind } from '../wire/inner.js';

/** One MAP part ready to seal: an inner CONTROL message whose seq is written per send. */
export interface MapPart {
  readonly inner: Uint8Array;
  /** Offset of the control seq (u32 LE) in `inner`. */
  readonly seqOffset: number;
  readonly entries: number;
}

/** The bytes encodeControl writes for one MAP entry (encoded once per member change). */
export function encodeMapEntry(e: MapEntry): Uint8Array {
  const one = encodeControl({ type: ControlType.MAP, seq: 0, version: 0, base: 0, part: 0, parts: 1, entries: [e] });
  return one.subarray(MAP_HEADER_BYTES);
}

/** Splits encoded entries into parts whose MAP body fits `budget` bytes (pure). */
export function buildParts(version: number, base: number, entries: readonly Uint8Array[], budget: number): MapPart[] {
  const groups: Array<{ from: number; to: number; bytes: number }> = [];
  let cur = { from: 0, to: 0, bytes: MAP_HEADER_BYTES };
  for (let i = 0; i < entries.length; i++) {
    const n = entries[i]!.byteLength;
    if (cur.bytes + n > budget && cur.to > cur.from) {
      groups.push(cur);
      cur = { from: i, to: i, bytes: MAP_HEADER_BYTES };
    }
    cur.to = i + 1;
    cur.bytes += n;
  }
  groups.push(cur);
  return groups.map((g, part) => {
    const header = encodeControl({ type: ControlType.MAP, seq: 0, version, base, part, parts: groups.length, entries: [] });
    const body = new Uint8Array(g.bytes);
    body.set(header);
    new DataView(body.buffer).setUint16(MAP_HEADER_BYTES - 2, g.to - g.from, true);
    let off = MAP_HEADER_BYTES;
    for (let i = g.from; i < g.to; i++) {
      body.set(entries[i]!, off);
      off += entries[i]!.byteLength;
    }
    const inner = encodeInner({ kind: InnerKind.CONTROL, body });
    return { inner, seqOffset: inner.byteLength - body.byteLength + 1, entries: g.to - g.from };
  });
}

/** Writes `seq` into the part and returns its bytes: valid until the next withSeq on the same part
 * (Link.send seals synchronously and copies what it queues, so the caller sends it at once). */
export function withSeq(p: MapPart, seq: number): Uint8Array {
  const b = p.inner;
  const s = seq >>> 0;
  b[p.seqOffset] = s & 0xff;
  b[p.seqOffset + 1] = (s >>> 8) & 0xff;
  b[p.seqOffset + 2] = (s >>> 16) & 0xff;
  b[p.seqOffset + 3] = s >>> 24;
  return b;
}
