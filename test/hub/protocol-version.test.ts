// The protocol version step (issue 22, docs/PROTOCOL.md "Endpoints and the protocol version"): a hub
// refuses a REGISTER of another version with one REGISTER_REFUSED the peer can decode, instead of
// misparsing its 6-byte endpoints. In process: a raw link plays the old (or newer) peer.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/crypto/keys.js';
import { Link } from '../../src/link/link.js';
import { udpPath } from '../../src/link/path.js';
import { fromHex } from '../../src/util/bytes.js';
import { versionRefusal } from '../../src/hub/version-refusal.js';
import { ControlType, decodeControl, PROTOCOL_VERSION, RefusalReason, type ControlMessage } from '../../src/wire/control.js';
import { decodeInner, encodeInner, InnerKind } from '../../src/wire/inner.js';
import { testLogger } from '../fakes/logger.js';
import { HUB_ENDPOINT, World } from '../vnet/world.js';

describe('versionRefusal', () => {
  it.each([
    ['protocol 1 knows no VERSION reason: BAD_REQUEST', 1, RefusalReason.BAD_REQUEST],
    ['protocol 0 (garbage in the version byte) is older still', 0, RefusalReason.BAD_REQUEST],
    ['a newer peer decodes VERSION', 3, RefusalReason.VERSION],
  ])('%s', (_why, version, reason) => {
    const d = versionRefusal(version);
    expect(d.reason).toBe(reason);
    expect(d.text).toContain(`protocol version ${version} refused`);
    expect(d.text).toContain(`protocol version ${PROTOCOL_VERSION}`);
  });
});

/** A raw link that sends one control body to the hub and collects what the hub answers. */
function rawPeer(w: World): { send(body: Uint8Array): void; got: ControlMessage[]; undecodable: number } {
  const sock = w.net.host('198.51.100.30').open(40_000);
  const l = new Link({ udp: sock, keyPair: generateKeyPair(), psk: w.psk, clock: w.clock, wallClock: w.wall, log: testLogger('old-peer') });
  const out = { got: [] as ControlMessage[], undecodable: 0, send: (body: Uint8Array) => l.send(w.hubKeys.publicKey, encodeInner({ kind: InnerKind.CONTROL, body }), udpPath(HUB_ENDPOINT)) };
  l.onInner((_r, pt) => {
    const inner = decodeInner(pt);
    if (inner.kind !== InnerKind.CONTROL) return;
    try {
      out.got.push(decodeControl(inner.body));
    } catch {
      out.undecodable++;
    }
  });
  return out;
}

describe('the hub and a peer of another protocol version', () => {
  it.each([
    // A protocol-1 REGISTER: type 1, seq 7, overlay 10.9.0.9/24, name "ab", one 6-byte LAN endpoint, boot id, flags.
    ['a protocol-1 peer (type 1, 6-byte endpoints)', '01 07000000 0a090009 18 02 6162 01 c0a80105 6cca 0100000000000000 00', 7, RefusalReason.BAD_REQUEST],
    ['a protocol-3 peer (type 60, version 3)', '3c 08000000 03 0a090009 18 00 00 0100000000000000 00', 8, RefusalReason.VERSION],
  ])('refuses %s with one REGISTER_REFUSED, logs it, registers nothing', (_why, hex, seq, reason) => {
    const w = new World();
    const hub = w.startHub();
    const p = rawPeer(w);
    p.send(fromHex(hex.replace(/\s+/g, '')));
    w.run(2_000);
    expect(p.undecodable).toBe(0);
    expect(p.got).toHaveLength(1);
    expect(p.got[0]).toMatchObject({ type: ControlType.REGISTER_REFUSED, seq, reason });
    expect(hub.server.counters).toMatchObject({ versionRefused: 1, refused: 1, malformed: 0 });
    expect(hub.registry.all()).toHaveLength(0);
  });
});
