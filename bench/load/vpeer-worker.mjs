// One worker process of the hub load tool (bench/load/hub-load.mjs): runs many lightweight virtual
// peers, each a real Link (Noise handshake, sessions, rekey) and a real HubClient (REGISTER, MAP
// parts acked and assembled, HEARTBEAT with the map version, re-register) on its own UDP socket and
// its own 127.x.y.z loopback address. What it leaves out of a peer: TUN, data plane, punching; and
// the map keeps only its version (the entries are decoded and acked, not stored), so 10,000 peers fit in memory.
import { pino } from 'pino';
import { openConnectedUdp } from './connected-udp.mjs';
import { loadDist, virtualPeer } from './vpeer.mjs';
import { loadUdpAddon, openNativePeerUdp } from './native-peer-udp.mjs';

// MESHD_DIST: a private build (npx tsc -p tsconfig.build.json --outDir DIR) so a run is not disturbed
// by someone rebuilding dist/ in a shared tree; default the repository's dist/.
const dist = process.env.MESHD_DIST ?? new URL('../../dist', import.meta.url).pathname;
const d = await loadDist(dist);
const { decodeKey, pskFromSecret, decodeControl, REGISTER_FLAG_ACL, REGISTER_CAP_ACL_DELTA } = d;
// LOAD_PEER_SOCKET: `dgram` (default: node:dgram, connected-udp.mjs) or `native` (the UDP addon
// real peers use, native-peer-udp.mjs: cheaper per datagram alone, but at 20,000 peers in 8 workers
// its registration collapsed (heartbeats stopped, the hubs expired members, handshake storms; not
// understood yet, docs/BENCHMARKS.md "Issue 24, session 7"): not for figures until that is found).
const udpAddon = process.env.LOAD_PEER_SOCKET === 'native' ? loadUdpAddon(dist) : undefined;
// --acl-deltas 1 (cluster-load.mjs): the peers take ACL_POLICY_DELTA (type 62) and every peer keeps
// the policy it was sent (the peer's own receiver), checked against the plan at each scopecheck.
const { compareScope, memberCounts, scopePlan } = await import('./acl-scope.mjs');
// Each Link runs on the crypto a real peer uses (crypto/native.ts runtimeCrypto: the addon's AEAD
// and handshake primitives unless MESHD_NODE_CRYPTO=1).

const log = pino({ level: 'silent' });
// LOAD_WORKER_CHANGE_PROF=DIR: a CPU profile of this worker from each scoped change's watch to its
// last watched peer (DIR/w<pid>-<key>.cpuprofile): what a change costs the load generator alone.
const changeProfDir = process.env.LOAD_WORKER_CHANGE_PROF;
let changeProf; // { session, key } while profiling
async function changeProfStart(key) {
  if (!changeProfDir || changeProf) return;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  changeProf = { session, key };
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
async function changeProfStop() {
  const p = changeProf;
  if (!p) return;
  changeProf = undefined;
  const { profile } = await p.session.post('Profiler.stop');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(`${changeProfDir}/w${process.pid}-${p.key}.cpuprofile`, JSON.stringify(profile));
  p.session.disconnect();
}
// MAP entries decoded (full) or only the part header (headers): the version-only map needs no
// entries, and decoding 2,500 peers' full maps in one process made the workers, not the hub, the
// bottleneck at 10,000 peers. The hub's work is the same either way; its codec is tested in test/.
const decodeEntries = process.env.LOAD_DECODE !== 'headers';
const MAP = 4; // ControlType.MAP
function decodeControlLoad(b) {
  if (decodeEntries || plan || b[0] !== MAP || b.byteLength < 19) return decodeControl(b);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { type: MAP, seq: v.getUint32(1, true), version: v.getUint32(5, true), base: v.getUint32(9, true), part: v.getUint16(13, true), parts: v.getUint16(15, true), entries: [] };
}
const peers = [];
let watch; // { version, pending: Set, startedAt } or, scoped runs, { key, overlay, present, pending }
let aclPolicies = 0; // ACL_POLICY messages received (scoped runs), duplicates included
let cfg0; // the start message (scopecheck reads its scope)
let plan; // scoped runs (cluster-load.mjs --scope): the acl-scope.mjs plan; the maps then keep their members
let halted = false; // the coordinator's registration time limit passed: start no more peers
const regMs = []; // per registered peer: first datagram to REGISTER_OK (cluster-load.mjs percentiles; 'regstats')
// Event-loop lag of this worker (a busy worker delays ACKs and answers: the hub is not the only suspect).
let maxLagMs = 0;
let lagAt = Date.now();
setInterval(() => {
  const now = Date.now();
  maxLagMs = Math.max(maxLagMs, now - lagAt - 100);
  lagAt = now;
}, 100).unref();

/** A scoped run's watch: does this peer's map now hold (or no longer hold) the watched member? */
function checkEntryWatch(p) {
  if (!watch?.overlay || !watch.pending.has(p)) return;
  if (p.map.held.has(watch.overlay) !== watch.present) return;
  watch.pending.delete(p);
  if (watch.pending.size === 0) {
    process.send({ type: 'watched', key: watch.key, doneAt: Date.now() });
    void changeProfStop();
  }
}

/** A peer's map moved to version v: the watch of a change may be done. */
function onPeerVersion(p, v) {
  if (watch?.overlay) return checkEntryWatch(p);
  if (watch && v >= watch.version && watch.pending.delete(p)) {
    if (watch.pending.size === 0) process.send({ type: 'watched', version: watch.version, doneAt: Date.now() });
  }
}

async function startPeer(cfg, index) {
  // Each virtual peer on its own loopback address (127.1.0.0 and up, all local on lo's /8), as real
  // peers have their own: the hub's per-IP limits under load (cookie replies) then see 10,000 sources.
  const address = `127.${1 + ((index >>> 16) & 0x7f)}.${(index >>> 8) & 0xff}.${index & 0xff}`;
  // Talks to its hub only (the one destination a virtual peer has).
  const sizes = { recvBufferBytes: 65536, sendBufferBytes: 65536 };
  const udp = udpAddon ? openNativePeerUdp(udpAddon, address, cfg.hub, sizes) : await openConnectedUdp(address, cfg.hub, sizes);
  const overlay = (0x0a090000 + cfg.firstHost + index) >>> 0; // 10.9.x.y inside --network 10.9.0.0/16 (registry numbers only: no packet goes there)
  const p = virtualPeer(d, log, {
    udp, hub: cfg.hub, hubKey: cfg.hubKey, psk: cfg.psk, index, overlay, name: plan ? plan.name(index) : '', held: plan ? new Set() : undefined,
    onVersion: onPeerVersion, decodeControl: decodeControlLoad, onAclPolicy: () => aclPolicies++,
    ...(plan && cfg.scope.aclFlag ? { registerFlags: REGISTER_FLAG_ACL } : {}), ...(plan && cfg.scope.aclFlag && cfg.scope.aclDeltas ? { registerCaps: REGISTER_CAP_ACL_DELTA } : {}),
  });
  peers.push(p);
  if (process.env.LOAD_DEBUG) setTimeout(() => { if (p.client.state !== 'registered') console.error(`vpeer ${index} ${Buffer.from(p.keyPair.publicKey).toString('hex').slice(0, 8)} port ${udp.local.port}: ${p.client.state} after 5 s; link drops ${JSON.stringify(p.link.drops)} stats ${JSON.stringify(p.link.stats)} udp ${JSON.stringify(udp.counters)}`); }, 5000).unref();
  await p.client.start();
  p.registeredAt = Date.now();
  return p;
}

process.on('message', async (msg) => {
  if (msg.scope && !plan) plan = scopePlan(msg.scope);
  if (msg.type === 'start') {
    cfg0 = msg;
    const cfg = { ...msg, hubKey: decodeKey(msg.hubKey, 'hub key'), psk: pskFromSecret(msg.secret) };
    const gapMs = 1000 / msg.ratePerSec;
    let done = 0;
    let failed = 0;
    const started = Date.now();
    const all = [];
    let pending = 0;
    for (let i = 0; i < msg.count && !halted; i++) {
      const at = started + i * gapMs;
      const wait = at - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // Closed loop: at most maxPending registrations in flight, so the join rate follows what the
      // hub absorbs (each join costs the hub one delta per member: the join storm is O(N^2)).
      for (let k = 0; pending >= msg.maxPending && k < 600_000; k++) await new Promise((r) => setTimeout(r, 5));
      pending++;
      all.push(
        startPeer(cfg, msg.first + i).then(
          (p) => {
            regMs.push(p.registeredAt - p.startedAt);
            pending--;
            done++;
            if (done % 10 === 0) process.send({ type: 'progress', registered: done });
          },
          (e) => {
            pending--;
            failed++;
            process.send({ type: 'error', error: String(e) });
          },
        ),
      );
    }
    await Promise.all(all);
    process.send({ type: 'registered', registered: done, failed, ms: Date.now() - started, regMs, indices: peers.filter((p) => p.registeredAt > 0).map((p) => p.index) });
  } else if (msg.type === 'halt') {
    halted = true;
  } else if (msg.type === 'regstats') {
    // Registration so far, without waiting for the peers still in flight (a run past its limit).
    process.send({ type: 'regstats', registered: regMs.length, regMs, indices: peers.filter((p) => p.registeredAt > 0).map((p) => p.index) });
  } else if (msg.type === 'scopecheck') {
    // Scoped runs: every registered peer's map against what the plan says it should hold among
    // msg.members (the indices registered network-wide).
    const members = new Set(msg.members);
    const counts = memberCounts(plan, members);
    const toIndex = (o) => o - 0x0a090000 - msg.firstHost;
    const r = { peers: 0, exact: 0, missing: 0, extra: 0, noMap: 0, held: 0, examples: [], aclExact: 0, aclWrong: 0, aclNone: 0 };
    // The rules each peer should hold: a server one rule from anyone; a group member one rule whose
    // sources are its group's registered members (bench/load/acl-scope.mjs policy()).
    const groupSources = new Map();
    for (const j of members) {
      if (plan.role(j) !== 'member') continue;
      const g = plan.group(j);
      if (!groupSources.has(g)) groupSources.set(g, []);
      groupSources.get(g).push((0x0a090000 + msg.firstHost + j) >>> 0);
    }
    for (const l of groupSources.values()) l.sort((a, b) => a - b);
    for (const p of peers) {
      if (p.registeredAt === 0) continue;
      r.peers++;
      if (p.map.version === 0) r.noMap++;
      const held = new Set([...p.map.held].map(toIndex));
      r.held += held.size;
      const c = compareScope(plan, p.index, held, members, counts);
      if (c.missing === 0 && c.extra === 0) r.exact++;
      else if (r.examples.length < 2) r.examples.push({ index: p.index, name: plan.name(p.index), held: held.size, ...c });
      r.missing += c.missing;
      r.extra += c.extra;
      if (cfg0?.scope?.aclFlag) {
        const h = p.acl.held;
        const want = plan.role(p.index) === 'server' ? undefined : (groupSources.get(plan.group(p.index)) ?? []);
        if (h === undefined) r.aclNone++;
        else if (h.rules.length === 1 && (want === undefined ? h.rules[0].sources === undefined : h.rules[0].sources?.length === want.length && h.rules[0].sources.every((x, k) => x === want[k]))) r.aclExact++;
        else r.aclWrong++;
      }
    }
    process.send({ type: 'scopecheck', ...r, aclPolicies });
  } else if (msg.type === 'versions') {
    const hist = {};
    for (const p of peers) hist[p.map.version] = (hist[p.map.version] ?? 0) + 1;
    const regs = peers.reduce((s, p) => s + p.client.registrations, 0);
    const handshakes = peers.reduce((s, p) => s + p.link.stats.handshakesCompleted, 0);
    const states = {};
    const drops = {};
    for (const p of peers) {
      states[p.client.state] = (states[p.client.state] ?? 0) + 1;
      for (const [k, v] of Object.entries(p.link.drops)) if (v) drops[k] = (drops[k] ?? 0) + v;
    }
    // A few peers not registered, to explain a stall (state, link and socket counters).
    const stuck = peers.filter((p) => p.client.state !== 'registered').slice(0, 3).map((p) => ({
      index: p.index, state: p.client.state, ageS: Math.round((Date.now() - p.startedAt) / 1000), registrations: p.client.registrations,
      link: p.link.stats, drops: Object.fromEntries(Object.entries(p.link.drops).filter(([, v]) => v)), udp: p.udp.counters,
    }));
    // A few registered peers still without any map (a settle that will not finish: who is missing).
    const noMap = peers.filter((p) => p.registeredAt > 0 && p.map.version === 0).slice(0, 3).map((p) => ({
      index: p.index, state: p.client.state, sinceRegisteredS: Math.round((Date.now() - p.registeredAt) / 1000), registrations: p.client.registrations, link: p.link.stats, udp: p.udp.counters,
    }));
    process.send({ type: 'versions', hist, registrations: regs, handshakes, states, drops, stuck, noMap, lagMs: maxLagMs });
    maxLagMs = 0;
  } else if (msg.type === 'watchEntry') {
    // Scoped runs: watch the peers msg.watchers (indices) until each holds (present) or no longer
    // holds member msg.index; the others are not waited on (the coordinator's scopecheck judges them).
    const overlay = (0x0a090000 + msg.firstHost + msg.index) >>> 0;
    const want = new Set(msg.watchers);
    watch = { key: msg.key, overlay, present: msg.present, pending: new Set(peers.filter((p) => p.registeredAt > 0 && want.has(p.index) && p.map.held.has(overlay) !== msg.present)) };
    if (watch.pending.size > 0) await changeProfStart(msg.key);
    process.send({ type: 'watching', key: msg.key, peers: watch.pending.size });
    if (watch.pending.size === 0) process.send({ type: 'watched', key: msg.key, doneAt: Date.now() });
  } else if (msg.type === 'watch') {
    // from: watch only the peers already at that version or later (those holding the full map while
    // others still stream theirs: cluster-load.mjs when the maps did not settle within its time).
    const from = msg.from ?? 0;
    watch = { version: msg.version, pending: new Set(peers.filter((p) => p.map.version < msg.version && p.map.version >= from)) };
    process.send({ type: 'watching', version: msg.version, peers: watch.pending.size });
    if (watch.pending.size === 0) process.send({ type: 'watched', version: msg.version, doneAt: Date.now() });
  } else if (msg.type === 'join') {
    // One more peer (the map change whose spread the coordinator times).
    const cfg = { ...msg, hubKey: decodeKey(msg.hubKey, 'hub key'), psk: pskFromSecret(msg.secret) };
    const t0 = Date.now();
    await startPeer(cfg, msg.first);
    process.send({ type: 'joined', startedAt: t0, registeredAt: Date.now() });
  } else if (msg.type === 'leave') {
    // msg.index: that peer (a scoped run's spare), else the last one started.
    const at = msg.index === undefined ? peers.length - 1 : peers.findIndex((q) => q.index === msg.index);
    const [p] = peers.splice(at, 1);
    if (watch?.pending.delete(p) && watch.pending.size === 0) process.send({ type: 'watched', ...(watch.overlay ? { key: watch.key } : { version: watch.version }), doneAt: Date.now() });
    const t0 = Date.now();
    await p.client.stop();
    await p.link.close();
    await p.udp.close();
    process.send({ type: 'left', startedAt: t0 });
  } else if (msg.type === 'stop') {
    for (const p of peers) {
      await p.link.close();
      await p.udp.close();
    }
    process.exit(0);
  }
});
// The coordinator gone (killed, crashed): do not linger.
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
