// NAT traversal per pair beyond today's direct probing (docs/NAT.md): runs the technique
// nat/technique.ts picks from both classes when a PUNCH arrives. Birthday: the hard side opens up to
// birthdaySockets extra sockets (nat/nat-socket.ts), each sending NAT_OPEN to the partner; the easy
// side sends at most birthdayMaxProbes authenticated PINGs, paced, to random ports of the hard side's
// address. Prediction: PINGs to a bounded window of the partner's next ports. Every attempt stops
// at the first authenticated answer (the pair's path goes direct), is bounded in time, closes the
// sockets that did not win, and a failed one is tried again only after a growing backoff.
import type { Endpoint, UdpSocket } from '../net/udp.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { NatClass } from '../wire/nat-class.js';
import { NAT_OPEN } from '../wire/nat-probe.js';
import type { NatSocket } from './nat-socket.js';
import { choosePlan, type Plan, type TechniqueName } from './technique.js';

/** Local tuning (issue 20, Tailscale's figures): sockets the hard side opens for a birthday attempt. */
export const birthdaySockets = 256;
/** Local tuning: probes the easy side sends at most (~98 % success with 256 sockets at 1,024). */
export const birthdayMaxProbes = 2_048;
/** Local tuning: the easy side's pace: 2,048 probes in ~10 s, a trickle no IDS calls a scan. */
export const birthdayProbesPerSec = 200;
/** Local tuning: the hard side repeats NAT_OPEN from each socket this often during an attempt. */
export const birthdayOpenResendMs = 2_000;
/** Local tuning: an attempt (birthday or prediction) ends after this long without a direct path. */
export const attemptTimeoutMs = 15_000;
/** Local tuning: ports swept past the partner's last known one (sequential EDM). */
export const predictionWindow = 32;
/** Local tuning: the window when both sides are sequential (each sweeps the mirrored ports). */
export const mirroredWindow = 16;
/** Local tuning: prediction sweeps restart at these offsets (ms) within an attempt. */
export const sweepScheduleMs: readonly number[] = [0, 300, 700, 1_200, 2_000, 3_000, 4_500, 6_500, 9_000, 12_000];

/** Local tuning: a hard side whose PUNCH came without the partner's class asks once more after this. */
export const askAgainMs = 2_000;
/** Local tuning: after n failed attempts for a pair, the next waits this long (1, 2, 4... min, at most 15). */
export function retryBackoffMs(failures: number): number {
  return Math.min(60_000 * 2 ** Math.max(0, failures - 1), 900_000);
}

export interface TraversalHost {
  /** Sends an authenticated PING to `to` for that peer, counted so its PONG can make the path direct. */
  probe(peerId: string, to: Endpoint): void;
  isDirect(peerId: string): boolean;
}

export interface NatPeerStatus {
  technique: TechniqueName;
  reason: string;
  state: 'trying' | 'direct' | 'relayed';
  probes: number;
  sockets: number;
  timeToDirectMs?: number;
}

interface Attempt {
  plan: Plan;
  partner: Endpoint;
  startedMs: number;
  probes: number;
  sockets: UdpSocket[];
  targets: Endpoint[];
  tried: Set<number>;
  sweep: number;
  lastOpenMs: number;
  partnerDelta: number;
}

interface PairState {
  plan?: Plan;
  attempt?: Attempt;
  status?: NatPeerStatus;
  failures: number;
  notBeforeMs: number;
  askedAgain?: boolean;
}

export interface NatTraversalOptions {
  socket: NatSocket;
  clock: Clock;
  random01: () => number;
  log: Logger;
  openFresh: () => Promise<UdpSocket>;
  /** The port a fresh mapping gets now (a fresh socket's probe to the hub): mirrored prediction's base. */
  freshPort?: () => Promise<number | undefined>;
}

export class NatTraversal {
  /** This node's class, once classified. */
  own: NatClass | undefined;
  /** Attempts and outcomes by technique (metrics). */
  readonly counts: Record<TechniqueName, { attempts: number; direct: number; failed: number }> = {
    direct: { attempts: 0, direct: 0, failed: 0 },
    prediction: { attempts: 0, direct: 0, failed: 0 },
    birthday: { attempts: 0, direct: 0, failed: 0 },
    portmap: { attempts: 0, direct: 0, failed: 0 },
    relay: { attempts: 0, direct: 0, failed: 0 },
  };
  private host: TraversalHost | undefined;
  private readonly pairs = new Map<string, PairState>();
  private closed = false;

  constructor(private readonly o: NatTraversalOptions) {}

  attach(host: TraversalHost): void {
    this.host = host;
  }

  /** Whether a hard NAT here should ask the hub for a PUNCH as soon as a session is up (the PUNCH
   * brings the partner's class; an easy side waits for it). */
  get asksForPunch(): boolean {
    return this.own?.mapping === 'edm';
  }

  /** An attempt is under way for some pair: tick() has paced probes to send (node.ts keeps its
   * path tick at the fast rate). */
  get busy(): boolean {
    for (const st of this.pairs.values()) if (st.attempt) return true;
    return false;
  }

  status(peerId: string): NatPeerStatus | undefined {
    const s = this.pairs.get(peerId)?.status;
    return s ? { ...s } : undefined;
  }

  /** The link authenticated a datagram from `from`: an extra socket it came on now carries that pair. */
  authenticated(from: Endpoint): void {
    const s = this.o.socket.adopt(from);
    if (s) this.o.log.debug({ endpoint: `${from.address}:${from.port}`, via: s.local.port }, 'nat: extra socket adopted');
  }

  /**
   * A PUNCH for a pair arrived with the partner's class (absent from older hubs or peers, or when the
   * partner's class reached the hub after the PUNCH left). Returns 'ask-again' once per pair when a
   * hard side got no partner class: the caller asks for one more PUNCH a little later.
   */
  onPunch(peerId: string, partner: NatClass | undefined, partnerReflexive: Endpoint, ownReflexive: Endpoint | undefined, nowMs: number): 'ask-again' | undefined {
    if (this.closed) return undefined;
    const st = this.pairOf(peerId);
    if (!partner && this.asksForPunch && !st.askedAgain) {
      st.askedAgain = true;
      return 'ask-again';
    }
    const plan = choosePlan(this.own, partner);
    st.plan = plan;
    // One attempt at a time (it ends by itself), except that plain direct probing (the partner's class
    // was not known yet) gives way to the technique a later PUNCH with the class picks.
    if (st.attempt && !(st.attempt.plan.technique === 'direct' && plan.technique !== 'direct')) return undefined;
    st.attempt = undefined;
    if (this.host?.isDirect(peerId)) {
      st.status = { technique: plan.technique === 'relay' ? 'direct' : plan.technique, reason: plan.reason, state: 'direct', probes: 0, sockets: 0 };
      return undefined;
    }
    if (plan.technique === 'relay') {
      this.counts.relay.attempts++;
      st.status = { technique: 'relay', reason: plan.reason, state: 'relayed', probes: 0, sockets: 0 };
      return undefined;
    }
    if (nowMs < st.notBeforeMs) {
      const waitS = Math.ceil((st.notBeforeMs - nowMs) / 1000);
      st.status = { ...(st.status ?? { technique: plan.technique, probes: 0, sockets: 0 }), state: 'relayed', reason: `${st.status?.reason ?? plan.reason}; next ${plan.technique} attempt in ${waitS} s` };
      return undefined;
    }
    this.counts[plan.technique].attempts++;
    const a: Attempt = {
      plan, partner: partnerReflexive, startedMs: nowMs, probes: 0, sockets: [], targets: [], tried: new Set(), sweep: 0, lastOpenMs: -Infinity, partnerDelta: partner?.delta ?? 0,
    };
    st.attempt = a;
    st.status = { technique: plan.technique, reason: plan.reason, state: 'trying', probes: 0, sockets: 0 };
    this.o.log.info({ peer: peerId.slice(0, 8), technique: plan.technique, role: plan.role, why: plan.reason }, 'nat: traversal attempt');
    if (plan.technique === 'birthday' && plan.role === 'hard') void this.openBirthdaySockets(a);
    if (plan.technique === 'prediction' && plan.role === 'easy') a.targets = window(partnerReflexive, a.partnerDelta, 1, predictionWindow);
    if (plan.technique === 'prediction' && plan.role === 'both') void this.mirroredTargets(a, ownReflexive);
    return undefined;
  }

  /** Drives attempts: paced probes, sweeps, NAT_OPEN refreshes, success and timeouts. */
  tick(nowMs: number): void {
    for (const [peerId, st] of this.pairs) {
      const a = st.attempt;
      if (!a || !st.status) continue;
      if (this.host?.isDirect(peerId)) {
        this.finish(peerId, st, a, nowMs, true);
        continue;
      }
      if (nowMs - a.startedMs >= attemptTimeoutMs) {
        this.finish(peerId, st, a, nowMs, false);
        continue;
      }
      if (a.plan.technique === 'birthday' && a.plan.role === 'easy') this.birthdayProbes(peerId, a, nowMs);
      if (a.plan.technique === 'birthday' && a.plan.role === 'hard' && nowMs - a.lastOpenMs >= birthdayOpenResendMs && a.sockets.length > 0) {
        a.lastOpenMs = nowMs;
        for (const s of a.sockets) this.o.socket.sendVia(s, NAT_OPEN, a.partner);
      }
      if (a.plan.technique === 'prediction' && a.targets.length > 0) {
        const at = sweepScheduleMs[a.sweep];
        if (at !== undefined && nowMs - a.startedMs >= at) {
          a.sweep++;
          for (const t of a.targets) this.send(peerId, a, t);
        }
      }
      st.status.probes = a.probes;
      st.status.sockets = a.sockets.length;
    }
  }

  /** A direct path to `endpoint` died (roaming, a NAT rebinding): the extra socket that carried it
   * is closed; the pair is relayed and re-punched on the next retry. */
  pathLost(endpoint: Endpoint): void {
    void this.o.socket.dropRoute(endpoint);
  }

  /** A peer left or restarted: its attempt ends, its sockets close. */
  forget(peerId: string): void {
    const st = this.pairs.get(peerId);
    this.pairs.delete(peerId);
    if (st?.attempt) void this.closeSockets(st.attempt, new Set());
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.pairs.values()].map((st) => (st.attempt ? this.closeSockets(st.attempt, new Set()) : undefined)));
    this.pairs.clear();
  }

  private pairOf(peerId: string): PairState {
    let st = this.pairs.get(peerId);
    if (!st) {
      st = { failures: 0, notBeforeMs: -Infinity };
      this.pairs.set(peerId, st);
    }
    return st;
  }

  private send(peerId: string, a: Attempt, to: Endpoint): void {
    a.probes++;
    this.host?.probe(peerId, to);
  }

  private birthdayProbes(peerId: string, a: Attempt, nowMs: number): void {
    const due = Math.min(birthdayMaxProbes, Math.floor(((nowMs - a.startedMs) / 1000) * birthdayProbesPerSec) + 1);
    // Random distinct ports of the hard side's address, above the well-known range.
    for (let guard = 0; a.probes < due && guard < 4 * birthdayMaxProbes; guard++) {
      const port = 1024 + Math.floor(this.o.random01() * (65536 - 1024));
      if (a.tried.has(port)) continue;
      a.tried.add(port);
      this.send(peerId, a, { address: a.partner.address, port });
    }
  }

  private async openBirthdaySockets(a: Attempt): Promise<void> {
    for (let i = 0; i < birthdaySockets && !this.closed; i++) {
      let s: UdpSocket;
      try {
        s = await this.o.openFresh();
      } catch {
        break;
      }
      if (this.closed || !this.isCurrent(a)) {
        await s.close();
        return;
      }
      this.o.socket.addExtra(s);
      a.sockets.push(s);
      this.o.socket.sendVia(s, NAT_OPEN, a.partner);
    }
    a.lastOpenMs = this.o.clock.now();
  }

  private async mirroredTargets(a: Attempt, ownReflexive: Endpoint | undefined): Promise<void> {
    const own = this.own;
    const port = await this.o.freshPort?.();
    if (!this.isCurrent(a) || !own || own.delta === 0 || port === undefined || !ownReflexive) {
      a.targets = window(a.partner, a.partnerDelta, 1, mirroredWindow);
      return;
    }
    // Our NAT gave `port` to the fresh socket; our i-th new mapping gets port + delta * i. The
    // partner's i-th, shifted by how far our counter moved since our reflexive, faces it (docs/NAT.md).
    const shift = Math.round((port - ownReflexive.port) / own.delta);
    a.targets = window(a.partner, a.partnerDelta, 1 + shift, mirroredWindow);
  }

  private isCurrent(a: Attempt): boolean {
    for (const st of this.pairs.values()) if (st.attempt === a) return true;
    return false;
  }

  private finish(peerId: string, st: PairState, a: Attempt, nowMs: number, won: boolean): void {
    st.attempt = undefined;
    const t = a.plan.technique;
    const status = st.status!;
    status.probes = a.probes;
    status.sockets = a.sockets.length;
    if (won) {
      this.counts[t].direct++;
      st.failures = 0;
      status.state = 'direct';
      status.timeToDirectMs = Math.round(nowMs - a.startedMs);
      this.o.log.info({ peer: peerId.slice(0, 8), technique: t, probes: a.probes, timeToDirectMs: status.timeToDirectMs }, 'nat: direct');
      // Keep the socket that won (adopted by the seam), close the rest.
      void this.closeSockets(a, new Set(a.sockets.filter((s) => this.o.socket.routeOf(a.partner) === s || routesTo(this.o.socket, s))));
    } else {
      this.counts[t].failed++;
      if (t !== 'direct') {
        st.failures++;
        st.notBeforeMs = nowMs + retryBackoffMs(st.failures);
      }
      status.state = 'relayed';
      status.reason = `${t} timed out after ${a.probes} probes${a.sockets.length ? ` and ${a.sockets.length} sockets` : ''} (${a.plan.reason})`;
      this.o.log.info({ peer: peerId.slice(0, 8), technique: t, probes: a.probes, why: status.reason }, 'nat: attempt failed; relayed');
      void this.closeSockets(a, new Set());
    }
  }

  private async closeSockets(a: Attempt, keep: Set<UdpSocket>): Promise<void> {
    const drop = a.sockets.filter((s) => !keep.has(s));
    a.sockets = a.sockets.filter((s) => keep.has(s));
    await this.o.socket.releaseUnused(new Set([...this.allKept(), ...keep].filter((s) => !drop.includes(s))));
  }

  /** Sockets of attempts still running (never closed by another pair's cleanup). */
  private allKept(): UdpSocket[] {
    return [...this.pairs.values()].flatMap((st) => st.attempt?.sockets ?? []);
  }
}

function routesTo(sock: NatSocket, s: UdpSocket): boolean {
  return sock.carries(s);
}

/** Ports partner.port + delta * i for i in [from, from + n), inside 1..65535. */
function window(partner: Endpoint, delta: number, from: number, n: number): Endpoint[] {
  const d = delta === 0 ? 1 : delta;
  const out: Endpoint[] = [];
  for (let i = from; i < from + n; i++) {
    const port = partner.port + d * i;
    if (port >= 1 && port <= 65535) out.push({ address: partner.address, port });
  }
  return out;
}
