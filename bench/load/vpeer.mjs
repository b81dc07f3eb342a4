// One virtual peer of the load tools: a real Link (Noise handshake, sessions, AEAD) and a real
// HubClient (REGISTER, MAP parts acked and assembled, HEARTBEAT) on a UdpSocket it is given, with a
// map that keeps only its version and, in scoped runs, the overlay addresses it holds. Used by
// vpeer-worker.mjs (one socket per peer, real loopback) and change-cost.mjs (in-memory sockets, to
// count what one change costs each side). Types are those of dist/.

/** The modules of a build (MESHD_DIST, default the repository's dist/). */
export async function loadDist(dist) {
  const [link, hubClient, keys, psk, clock, control, inner, acl, aclReceive] = await Promise.all(
    ['link/link.js', 'peer/hub-client.js', 'crypto/keys.js', 'crypto/psk.js', 'util/clock.js', 'wire/control.js', 'wire/inner.js', 'wire/acl.js', 'peer/acl-receive.js'].map((m) => import(`${dist}/${m}`)),
  );
  return { ...link, ...hubClient, ...keys, ...psk, ...clock, ...control, ...inner, ...acl, ...aclReceive };
}

/** PeerMap's version rules without the entries (src/peer/peer-map.ts); with `held` (a Set, scoped
 * runs) it also keeps the overlay addresses of the members it holds, its own left out. */
export class VersionMap {
  version = 0;
  constructor(onVersion, held, self) {
    this.onVersion = onVersion;
    this.held = held;
    this.self = self;
  }
  apply(entries) {
    if (!this.held) return;
    for (const e of entries) {
      if (e.overlay === this.self) continue;
      if (e.op === 1) this.held.add(e.overlay); // MapOp.UPSERT
      else this.held.delete(e.overlay);
    }
  }
  all() {
    return [];
  }
  get() {
    return undefined;
  }
  byId() {
    return undefined;
  }
  applyFull(version, entries) {
    this.held?.clear();
    this.apply(entries);
    this.version = version;
    this.onVersion(version);
    return [];
  }
  applyDelta(base, version, entries) {
    if (version <= this.version) return { stale: true };
    if (base > this.version) return { gap: true };
    this.apply(entries);
    this.version = version;
    this.onVersion(version);
    return { applied: [] };
  }
  clear() {
    this.held?.clear();
    this.version = 0;
  }
}

const ACL_DELTA_TYPE = 62;

/**
 * A virtual peer on `udp` (not started: `await p.client.start()` registers it).
 * o: { udp, hub: Endpoint, hubKey, psk, index, overlay, name, lan, held (Set | undefined),
 *      onVersion(p, v), registerFlags?, registerCaps?, decodeControl?(body) (default the codec's),
 *      onAclPolicy?() (counted by the caller) }
 */
export function virtualPeer(d, log, o) {
  const keyPair = d.generateKeyPair();
  const link = new d.Link({ udp: o.udp, keyPair, psk: o.psk, clock: d.systemClock, wallClock: d.systemWallClock, log });
  const p = { index: o.index, link, udp: o.udp, registeredAt: 0, startedAt: Date.now(), overlay: o.overlay, keyPair };
  p.map = new VersionMap((v) => o.onVersion(p, v), o.held, o.overlay);
  p.client = new d.HubClient({
    link, clock: d.systemClock, log, hub: o.hub, psk: o.psk, hubKey: o.hubKey, overlay: o.overlay, prefix: 16, name: o.name, lan: () => [o.udp.local],
    bootId: BigInt(o.index + 1), map: p.map, ...(o.registerFlags ? { registerFlags: o.registerFlags } : {}), ...(o.registerCaps ? { registerCaps: o.registerCaps } : {}),
  });
  // The policy this peer holds (what its firewall would enforce), kept by the peer's own receiver.
  p.acl = { held: undefined };
  const fw = { held: () => p.acl.held, apply: (m) => (p.acl.held !== undefined && ((m.version - p.acl.held.version) | 0) <= 0 ? false : ((p.acl.held = m), true)) };
  p.aclRx = new d.AclReceiver(fw, (seq) => p.client.ack(seq), log);
  const decode = o.decodeControl ?? d.decodeControl;
  link.onInner((r, pt) => {
    if (!p.client.isHub(r.publicKey)) return;
    const inner = d.decodeInner(pt);
    if (inner.kind !== d.InnerKind.CONTROL) return;
    // Scoped runs register as ACL-capable peers (flag 0x08), as real ones do: ACK the hub's
    // ACL_POLICY and REVOKED messages (reliable), without enforcing them.
    const t = inner.body[0];
    if (t === d.ACL_POLICY_TYPE) {
      o.onAclPolicy?.();
      p.aclRx.receive(inner.body);
    } else if (t === ACL_DELTA_TYPE) {
      o.onAclPolicy?.();
      p.aclRx.receiveDelta(inner.body);
    } else if (t === d.REVOKED_TYPE) p.client.ack(d.decodeRevoked(inner.body).seq);
    else p.client.onControl(decode(inner.body));
  });
  return p;
}
