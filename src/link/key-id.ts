// The hex form of a remote's static public key: the key of the link's remote table, the peer map and
// the hub's registry. Its own file so pure data modules (peer/peer-map.ts) need not import link.ts.

export function keyId(publicKey: Uint8Array): string {
  return Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('hex');
}
