// The KCP conv of a peer pair (docs/PROTOCOL.md "Epochs"): both sides compute the same number from
// both boot ids, so a rekey keeps the conversation and a restart of either side starts a new one.
import { createHash } from 'node:crypto';

export function pairConv(bootA: bigint, bootB: bigint): number {
  const [lo, hi] = bootA < bootB ? [bootA, bootB] : [bootB, bootA];
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(BigInt.asUintN(64, lo), 0);
  b.writeBigUInt64LE(BigInt.asUintN(64, hi), 8);
  return createHash('blake2s256').update(b).digest().readUInt32LE(0);
}
