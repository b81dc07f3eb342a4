// Codec of the two handshake messages (PROTOCOL.md). The cryptography that fills the fields is in
// src/crypto/handshake.ts; this file only lays bytes out and checks lengths.
//
// HANDSHAKE_INIT (type 1), 148 bytes            HANDSHAKE_RESP (type 2), 92 bytes
//   0   type=1 | 0 | 0 | 0                        0   type=2 | 0 | 0 | 0
//   4   sender_index u32 LE                       4   sender_index u32 LE
//   8   unencrypted_ephemeral [32]                8   receiver_index u32 LE
//   40  encrypted_static [32+16]                  12  unencrypted_ephemeral [32]
//   88  encrypted_timestamp [12+16]               44  encrypted_nothing [0+16]
//   116 mac1 [16]                                 60  mac1 [16]
//   132 mac2 [16] (cookie MAC, else zero)         76  mac2 [16] (zero)
import { viewOf } from '../util/bytes.js';
import { checkFixedHeader, HANDSHAKE_INIT_SIZE, HANDSHAKE_RESP_SIZE, MessageType, putField } from './outer.js';

export { HANDSHAKE_INIT_SIZE, HANDSHAKE_RESP_SIZE };
export const MAC_SIZE = 16;
/** Offsets of mac1 (the MAC covers every byte before it) in each message. */
export const INIT_MAC1_OFFSET = 116;
export const RESP_MAC1_OFFSET = 60;
/** Offset of the initiation's mac2 (covers every byte before it; wire/cookie.ts has the cookie). */
export const INIT_MAC2_OFFSET = 132;

export interface HandshakeInit {
  senderIndex: number;
  ephemeral: Uint8Array; // 32
  encryptedStatic: Uint8Array; // 48
  encryptedTimestamp: Uint8Array; // 28
  mac1: Uint8Array; // 16
  mac2: Uint8Array; // 16
}

export interface HandshakeResp {
  senderIndex: number;
  receiverIndex: number;
  ephemeral: Uint8Array; // 32
  encryptedNothing: Uint8Array; // 16
  mac1: Uint8Array; // 16
  mac2: Uint8Array; // 16
}

export function encodeHandshakeInit(m: HandshakeInit): Uint8Array {
  const out = new Uint8Array(HANDSHAKE_INIT_SIZE);
  out[0] = MessageType.HandshakeInit;
  viewOf(out).setUint32(4, m.senderIndex >>> 0, true);
  putField(out, 8, m.ephemeral, 32, 'ephemeral');
  putField(out, 40, m.encryptedStatic, 48, 'encryptedStatic');
  putField(out, 88, m.encryptedTimestamp, 28, 'encryptedTimestamp');
  putField(out, 116, m.mac1, MAC_SIZE, 'mac1');
  putField(out, 132, m.mac2, MAC_SIZE, 'mac2');
  return out;
}

/** Decodes a HANDSHAKE_INIT; fields are copies (safe to keep after the datagram buffer is reused). */
export function decodeHandshakeInit(d: Uint8Array): HandshakeInit {
  checkFixedHeader(d, MessageType.HandshakeInit, HANDSHAKE_INIT_SIZE, 'HANDSHAKE_INIT');
  return {
    senderIndex: viewOf(d).getUint32(4, true),
    ephemeral: d.slice(8, 40),
    encryptedStatic: d.slice(40, 88),
    encryptedTimestamp: d.slice(88, 116),
    mac1: d.slice(116, 132),
    mac2: d.slice(132, 148),
  };
}

export function encodeHandshakeResp(m: HandshakeResp): Uint8Array {
  const out = new Uint8Array(HANDSHAKE_RESP_SIZE);
  out[0] = MessageType.HandshakeResp;
  const v = viewOf(out);
  v.setUint32(4, m.senderIndex >>> 0, true);
  v.setUint32(8, m.receiverIndex >>> 0, true);
  putField(out, 12, m.ephemeral, 32, 'ephemeral');
  putField(out, 44, m.encryptedNothing, 16, 'encryptedNothing');
  putField(out, 60, m.mac1, MAC_SIZE, 'mac1');
  putField(out, 76, m.mac2, MAC_SIZE, 'mac2');
  return out;
}

export function decodeHandshakeResp(d: Uint8Array): HandshakeResp {
  checkFixedHeader(d, MessageType.HandshakeResp, HANDSHAKE_RESP_SIZE, 'HANDSHAKE_RESP');
  const v = viewOf(d);
  return {
    senderIndex: v.getUint32(4, true),
    receiverIndex: v.getUint32(8, true),
    ephemeral: d.slice(12, 44),
    encryptedNothing: d.slice(44, 60),
    mac1: d.slice(60, 76),
    mac2: d.slice(76, 92),
  };
}
