// A map entry for in-process data-plane tests: the key is the overlay's last byte repeated, so each
// test peer has a distinct, recognisable key.
import type { PeerInfo } from '../../src/peer/peer-map.js';

export function infoOf(overlay: number, bootId: bigint): PeerInfo {
  const publicKey = new Uint8Array(32).fill(overlay & 0xff);
  return { publicKey, id: Buffer.from(publicKey).toString('hex'), overlay, name: '', bootId, reflexive: { address: '0.0.0.0', port: 0 }, lan: [] };
}
