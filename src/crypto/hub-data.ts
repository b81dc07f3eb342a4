// Keys and sealing of HUB_DATA (wire/hub-data.ts), the hub-to-hub UDP channel (docs/PROTOCOL.md
// "Hub-to-hub data"). One key per direction and per pair of boot epochs:
//   ck  = HASH("meshd hub data v1" || psk)
//   key = KDF1(ck, DH(our static, their static) || sender pub || sender epoch || receiver pub || receiver epoch)
// Only the two hubs hold the DH (a member knows the psk, not a hub's private key): no member can
// forge a frame. The epochs (random per hub start, published with the presence) make a restarted
// hub's counters start on fresh keys, and frames captured before either hub restarted useless.
// Pure: used by hub/hub-channel.ts.
import type { StaticKeyPair } from './keys.js';
import { NODE_NOISE, type Noise } from './noise.js';

const label = new TextEncoder().encode('meshd hub data v1');

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export interface HubDataKeys {
  send: Uint8Array;
  recv: Uint8Array;
}

/** Both directions' keys between us and another hub; undefined when its key is low-order. */
export function hubDataKeys(
  psk: Uint8Array, ours: StaticKeyPair, ourEpoch: Uint8Array, theirPublic: Uint8Array, theirEpoch: Uint8Array, noise: Noise = NODE_NOISE,
): HubDataKeys | undefined {
  const dh = noise.x25519(ours.privateKey, theirPublic);
  if (!dh) return undefined;
  const ck = noise.hash(label, psk);
  const [send] = noise.kdf(1, ck, concat([dh, ours.publicKey, ourEpoch, theirPublic, theirEpoch]));
  const [recv] = noise.kdf(1, ck, concat([dh, theirPublic, theirEpoch, ours.publicKey, ourEpoch]));
  return { send: send!, recv: recv! };
}

export function sealHubData(key: Uint8Array, counter: number, plain: Uint8Array, ad: Uint8Array, noise: Noise = NODE_NOISE): Uint8Array {
  return noise.aeadSeal(key, counter, plain, ad);
}

/** undefined when authentication fails. */
export function openHubData(key: Uint8Array, counter: number, sealed: Uint8Array, ad: Uint8Array, noise: Noise = NODE_NOISE): Uint8Array | undefined {
  return noise.aeadOpen(key, counter, sealed, ad);
}
