// The framing that carries sealed meshd datagrams over a byte stream (TCP or TLS to the hub,
// net/stream-node.ts): each datagram is prefixed with its length. Pure: bytes in, frames out.
//
//     0      1      2 ...
//     +------+------+---------------------------+
//     | length u16  | datagram (length bytes)   |   length 1..STREAM_MAX_FRAME_BYTES, big-endian
//     +------+------+---------------------------+
import { DecodeError } from '../util/errors.js';

export const STREAM_FRAME_HEADER_BYTES = 2;
/** Protocol (both ends agree): no meshd datagram is larger (the underlay MTU keeps them near 1500);
 * a larger length is a broken or hostile stream, and the connection is closed. */
export const STREAM_MAX_FRAME_BYTES = 4096;

/** One frame: the 2-byte length then the datagram. Throws DecodeError for an empty or oversized datagram. */
export function encodeFrame(datagram: Uint8Array): Buffer {
  const n = datagram.byteLength;
  if (n === 0 || n > STREAM_MAX_FRAME_BYTES) throw new DecodeError(`stream frame of ${n} bytes (1..${STREAM_MAX_FRAME_BYTES})`, 'STREAM_FRAME_SIZE');
  const out = Buffer.allocUnsafe(STREAM_FRAME_HEADER_BYTES + n);
  out.writeUInt16BE(n, 0);
  out.set(datagram, STREAM_FRAME_HEADER_BYTES);
  return out;
}

/** Exactly one frame (golden tests, fuzz): its datagram. Throws DecodeError on any other input. */
export function decodeFrame(b: Uint8Array): Uint8Array {
  if (b.byteLength < STREAM_FRAME_HEADER_BYTES) throw new DecodeError('stream frame shorter than its header', 'STREAM_FRAME_SHORT');
  const n = (b[0]! << 8) | b[1]!;
  if (n === 0 || n > STREAM_MAX_FRAME_BYTES) throw new DecodeError(`stream frame length ${n} (1..${STREAM_MAX_FRAME_BYTES})`, 'STREAM_FRAME_SIZE');
  if (b.byteLength !== STREAM_FRAME_HEADER_BYTES + n) throw new DecodeError(`stream frame of ${b.byteLength} bytes says ${n}`, 'STREAM_FRAME_SHORT');
  return b.subarray(STREAM_FRAME_HEADER_BYTES);
}

/**
 * Reassembles frames from stream chunks split anywhere. Memory is bounded: one buffer of
 * header + STREAM_MAX_FRAME_BYTES, whatever the peer sends. `push` hands each complete datagram to
 * `onFrame` (valid only during the call) and throws DecodeError on a bad length: the caller closes
 * the stream, since framing cannot resynchronise.
 */
export class FrameReader {
  private readonly buf = Buffer.allocUnsafe(STREAM_FRAME_HEADER_BYTES + STREAM_MAX_FRAME_BYTES);
  private have = 0;
  private need = STREAM_FRAME_HEADER_BYTES;
  private inBody = false;

  constructor(private readonly onFrame: (datagram: Buffer) => void) {}

  push(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.byteLength) {
      const take = Math.min(this.need - this.have, chunk.byteLength - off);
      this.buf.set(chunk.subarray(off, off + take), this.have);
      this.have += take;
      off += take;
      if (this.have < this.need) return;
      if (!this.inBody) {
        const n = this.buf.readUInt16BE(0);
        if (n === 0 || n > STREAM_MAX_FRAME_BYTES) throw new DecodeError(`stream frame length ${n} (1..${STREAM_MAX_FRAME_BYTES})`, 'STREAM_FRAME_SIZE');
        this.inBody = true;
        this.need = STREAM_FRAME_HEADER_BYTES + n;
      } else {
        const frame = this.buf.subarray(STREAM_FRAME_HEADER_BYTES, this.need);
        this.inBody = false;
        this.have = 0;
        this.need = STREAM_FRAME_HEADER_BYTES;
        this.onFrame(frame);
      }
    }
  }

  /** Bytes of a frame started but not finished (a stream closed mid-frame leaves this above 0). */
  get pending(): number {
    return this.have;
  }
}
