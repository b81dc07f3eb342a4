// The hub side of published services: admits PUBLISH (allowed ports, free names), listens on the
// public TCP port, turns each visitor connection into a KcpStream (STREAM_OPEN + its own conv) to
// the owning member, limits connections per service and per visitor IP (visitor-gate.ts), closes
// idle connections (idle.ts), bounds buffered stream bytes (stream-budget.ts), logs one summary
// line per service per minute (conn-summary.ts), and drops a member's services when it leaves or
// restarts. hub/server.ts calls it through the MemberServices slice it declares; it reaches members
// through the send functions below (hub/member-sender.ts, wired in hub/hub.ts), never the server.
import { createServer, type Server, type Socket } from 'node:net';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { ControlType, PublishRefusal, publishRefusalName, type ControlMessage } from '../wire/control.js';
import { encodeInner, InnerKind, StreamOp, type InnerMessage } from '../wire/inner.js';
import { KcpStream } from './kcp-stream.js';
import { ConnTally, summaryIntervalMs } from './conn-summary.js';
import { defaultIdleTimeoutMs, idleSweepMs, isIdle } from './idle.js';
import { pipeSocket } from './pipe.js';
import { defaultStreamBudgetBytes, StreamBudget } from './stream-budget.js';
import { VisitorGate } from './visitor-gate.js';
import { decidePublish, formatPortRanges, type PortRange } from './spec.js';
import { planGuests, type ClaimView } from './guest-plan.js';

/** Local tuning: how often guest listeners are reconciled with the claims and the map (besides at
 * every claim change): an owner that left the network stops being listened for within this. */
export const guestSyncMs = 5_000;

/** Several hubs (issue 24 item 3; structurally hub/service-claims.ts and the shared map): published
 * ports are claims network-wide, and every hub listens on every claimed port within its
 * --allow-publish, serving visitors of a member homed elsewhere over the session that member keeps
 * with this hub (its standby). hub/hub.ts wires it from the NetworkState. */
export interface PublishCluster {
  claims: {
    claim(c: ClaimView, stale: (holder: string) => boolean): Promise<true | { holder: string; name: string }>;
    release(port: number, owner: string): void;
    all(): ClaimView[];
    onChange(fn: () => void): void;
  };
  /** A member of the network's map by key id (any hub's); undefined when it is not in it. */
  member(id: string): PublishMember | undefined;
  /** Whether the key is one of this hub's own members. */
  isLocal(id: string): boolean;
  /** Whether this hub has a session with the key now (a member homed elsewhere keeps one with its standby). */
  reachable(publicKey: Uint8Array): boolean;
  /** Whether the member is homed on another live hub (its claims outlive its leaving this one). */
  homedElsewhere(id: string): boolean;
  /** The key id of a public key (link/key-id.ts). */
  idOf(publicKey: Uint8Array): string;
}

/** Local tuning: concurrent visitor connections per service (more are reset at once). */
export const defaultMaxConnsPerService = 256;
/** Local tuning: services one member may publish (each is a listening socket on the hub). */
export const defaultMaxServicesPerMember = 8;

/** The member a hook is about (structurally hub/registry.ts Member). */
export interface PublishMember {
  id: string;
  publicKey: Uint8Array;
  name: string;
}

/** The --publish-* limits (absent = the defaults). */
export interface PublishLimits {
  /** Open connections per visitor IP across all services (--publish-max-conns-per-ip). */
  maxConnsPerIp?: number;
  /** New connections per second per visitor IP (--publish-accept-rate), burst 4x. */
  acceptsPerSec?: number;
  /** Close a connection with no bytes either way for this long; 0 = never (--publish-idle-timeout). */
  idleTimeoutMs?: number;
  /** Budget for bytes buffered in all visitor streams (--publish-buffer-mb). */
  bufferBytes?: number;
  /** Services one member may publish (--publish-max-services). */
  maxServicesPerMember?: number;
}

export interface HubPublisherOptions extends PublishLimits {
  allow: readonly PortRange[];
  /** Address the public ports listen on (the hub's --listen IP, or 0.0.0.0). */
  listenHost: string;
  clock: Clock;
  log: Logger;
  maxConnsPerService?: number;
  /** Sends an inner message on the member's hub session (link.send). */
  send(publicKey: Uint8Array, inner: Uint8Array): void;
  /** Sends a control message to the member, retransmitted until ACK(seq); onGiveUp when never acked. */
  sendReliable(member: PublishMember, make: (seq: number) => ControlMessage, onGiveUp: () => void): void;
  /** Sends a control message once (answers). */
  sendControl(publicKey: Uint8Array, msg: ControlMessage): void;
  /** Several hubs: network-wide port claims and guest listeners; absent on a single hub. */
  cluster?: PublishCluster;
}

export interface PublishedConnStatus {
  conv: number;
  visitor: string;
  bytesIn: number;
  bytesOut: number;
  waitSnd: number;
}

export interface PublishedServiceStatus {
  name: string;
  port: number;
  owner: string;
  ownerName: string;
  listening: boolean;
  connections: number;
  totalConnections: number;
  refusedConnections: number;
  /** Refused visitors by reason: service-full, ip-full, rate, table-full, peer-gone. */
  refusedBy: Record<string, number>;
  /** Connections closed for idleness, or reset by the buffer budget. */
  idleClosed: number;
  budgetResets: number;
  /** visitor -> peer, and peer -> visitor, over the service's life (closed connections included). */
  bytesIn: number;
  bytesOut: number;
  conns: PublishedConnStatus[];
  /** Several hubs: the service of a member homed on another hub, served here over its standby session. */
  guest?: boolean;
}

interface Conn {
  stream: KcpStream;
  visitor: string;
  ip: string;
  service: Service;
}

interface Service {
  name: string;
  port: number;
  owner: PublishMember;
  server: Server;
  listening: boolean;
  conns: Map<number, Conn>;
  total: number;
  refused: number;
  refusedBy: Record<string, number>;
  idleClosed: number;
  budgetResets: number;
  bytesInClosed: number;
  bytesOutClosed: number;
  tally: ConnTally;
  /** A service of a member homed on another hub, listened for from the claims (guest-plan.ts). */
  guest?: boolean;
}

export class HubPublisher {
  private readonly services = new Map<string, Service>();
  /** Guest services by port (several hubs): claimed ports of members homed elsewhere. */
  private readonly guests = new Map<number, Service>();
  /** PUBLISHes whose port claim is on its way to the shared state (retransmitted copies are dropped). */
  private readonly claiming = new Set<string>();
  private guestTimer: TimerHandle | undefined;
  /** Closed: the claims feed (still running until the state closes) opens nothing more. */
  private closed = false;
  /** Guest ports whose listen failed (logged once until it works again). */
  private readonly guestFailed = new Set<number>();
  /** Streams by member id, then conv. */
  private readonly streams = new Map<string, Map<number, Conn>>();
  private nextConv = (Math.random() * 0x7fffffff) >>> 0;
  private readonly maxConns: number;
  readonly gate: VisitorGate;
  readonly budget: StreamBudget;
  private readonly idleMs: number;
  private idleTimer: TimerHandle | undefined;
  private summaryTimer: TimerHandle | undefined;
  readonly counters = { unknownConv: 0, published: 0, refused: 0, opened: 0, visitorsRefused: 0, idleClosed: 0, refusedBy: {} as Record<string, number>, claimsLost: 0, claimsUnavailable: 0 };

  constructor(private readonly o: HubPublisherOptions) {
    this.maxConns = o.maxConnsPerService ?? defaultMaxConnsPerService;
    this.gate = new VisitorGate({
      ...(o.maxConnsPerIp !== undefined ? { maxPerIp: o.maxConnsPerIp } : {}),
      ...(o.acceptsPerSec !== undefined ? { acceptsPerSec: o.acceptsPerSec } : {}),
    });
    this.budget = new StreamBudget(o.bufferBytes ?? defaultStreamBudgetBytes, o.clock);
    this.idleMs = o.idleTimeoutMs ?? defaultIdleTimeoutMs;
    if (o.cluster) {
      o.cluster.claims.onChange(() => this.syncClaims());
      this.armGuestSync();
    }
  }

  /** Handles PUBLISH; false for other types. `member` is undefined for a non-member. */
  onControl(member: PublishMember | undefined, fromKey: Uint8Array, msg: ControlMessage): boolean {
    if (msg.type !== ControlType.PUBLISH) return false;
    const refuse = (reason: PublishRefusal, text: string): void => {
      this.counters.refused++;
      this.o.log.info({ peer: member?.name, service: msg.name, port: msg.port, reason: publishRefusalName[reason], text }, 'publish refused');
      this.o.sendControl(fromKey, { type: ControlType.PUBLISH_REFUSED, seq: msg.seq, name: msg.name, reason, text });
    };
    if (!member) {
      refuse(PublishRefusal.NOT_REGISTERED, 'register first');
      return true;
    }
    const published = [...this.services.values()].map((s) => ({ name: s.name, port: s.port, owner: s.owner.id }));
    const maxServices = this.o.maxServicesPerMember ?? defaultMaxServicesPerMember;
    const verdict = decidePublish(member.id, msg.name, msg.port, this.o.allow, published, maxServices);
    const ok = (): void => this.o.sendControl(fromKey, { type: ControlType.PUBLISH_OK, seq: msg.seq, name: msg.name, port: msg.port });
    switch (verdict) {
      case 'same':
        ok();
        return true;
      case 'bad-name':
        refuse(PublishRefusal.BAD_REQUEST, `service name "${msg.name}" must be 1-32 of A-Z a-z 0-9 _ . -`);
        return true;
      case 'port-not-allowed':
        refuse(PublishRefusal.PORT_NOT_ALLOWED, `port ${msg.port} is outside the hub's --allow-publish ${formatPortRanges(this.o.allow)}`);
        return true;
      case 'name-taken':
        refuse(PublishRefusal.NAME_TAKEN, `service name "${msg.name}" is published by another peer`);
        return true;
      case 'port-in-use':
        refuse(PublishRefusal.PORT_IN_USE, `port ${msg.port} is published by another service`);
        return true;
      case 'too-many':
        refuse(PublishRefusal.TOO_MANY_SERVICES, `this peer already publishes ${maxServices} services (the hub's --publish-max-services)`);
        return true;
      case 'ok':
        break;
    }
    if (this.o.cluster) {
      this.claimThenListen(this.o.cluster, member, fromKey, msg, refuse);
      return true;
    }
    this.listen(member, msg, refuse, ok);
    return true;
  }

  /** Several hubs: the port is claimed network-wide first; a port another member holds is refused. */
  private claimThenListen(
    cluster: PublishCluster, member: PublishMember, fromKey: Uint8Array, msg: Extract<ControlMessage, { type: ControlType.PUBLISH }>,
    refuse: (reason: PublishRefusal, text: string) => void,
  ): void {
    const tag = `${member.id}/${msg.name}/${msg.port}`;
    if (this.claiming.has(tag)) return;
    this.claiming.add(tag);
    cluster.claims
      .claim({ port: msg.port, owner: member.id, name: msg.name }, (holder) => cluster.member(holder) === undefined)
      .then((r) => {
        if (r !== true) {
          this.counters.claimsLost++;
          return refuse(PublishRefusal.PORT_IN_USE, `port ${msg.port} is published by another peer of the network (service "${r.name}", on another hub)`);
        }
        // Still this hub's member, and still free here (decided again: things moved while we waited).
        if (this.closed || !cluster.isLocal(member.id)) return;
        const published = [...this.services.values()].map((s) => ({ name: s.name, port: s.port, owner: s.owner.id }));
        const verdict = decidePublish(member.id, msg.name, msg.port, this.o.allow, published, this.o.maxServicesPerMember ?? defaultMaxServicesPerMember);
        const ok = (): void => this.o.sendControl(fromKey, { type: ControlType.PUBLISH_OK, seq: msg.seq, name: msg.name, port: msg.port });
        if (verdict === 'same') return ok();
        if (verdict !== 'ok') return refuse(PublishRefusal.PORT_IN_USE, `port ${msg.port} or name "${msg.name}" was taken meanwhile`);
        // Our own guest listener on the port (the member re-homed here) gives way to the service.
        const g = this.guests.get(msg.port);
        if (g) this.closeGuest(g, 'the owner is homed here now');
        this.listen(member, msg, refuse, ok);
      })
      .catch((e: unknown) => {
        // Cut from the shared state: not answered (the peer sends PUBLISH again), rather than risked.
        this.counters.claimsUnavailable++;
        this.o.log.warn({ peer: member.name, service: msg.name, port: msg.port, err: (e as Error).message }, 'publish: the port claim cannot reach the shared state; PUBLISH left unanswered');
      })
      .finally(() => this.claiming.delete(tag));
  }

  private listen(member: PublishMember, msg: Extract<ControlMessage, { type: ControlType.PUBLISH }>, refuse: (reason: PublishRefusal, text: string) => void, ok: () => void): void {
    const old = this.services.get(msg.name);
    if (old) this.unpublish(old, 'moved to another port');
    const svc: Service = {
      name: msg.name, port: msg.port, owner: member, server: createServer({ allowHalfOpen: true, pauseOnConnect: false }),
      listening: false, conns: new Map(), total: 0, refused: 0, refusedBy: {}, idleClosed: 0, budgetResets: 0, bytesInClosed: 0, bytesOutClosed: 0,
      tally: new ConnTally(),
    };
    this.services.set(msg.name, svc);
    this.armSummary();
    svc.server.on('connection', (sock) => this.onVisitor(svc, sock));
    svc.server.once('error', (e: NodeJS.ErrnoException) => {
      if (svc.listening) {
        this.o.log.warn({ service: svc.name, port: svc.port, err: e.code ?? e.message }, 'published port failed');
        return;
      }
      if (this.services.get(svc.name) === svc) this.services.delete(svc.name);
      refuse(PublishRefusal.LISTEN_FAILED, `the hub cannot listen on ${this.o.listenHost}:${msg.port}: ${e.code ?? e.message}`);
    });
    svc.server.listen({ port: msg.port, host: this.o.listenHost, exclusive: true }, () => {
      if (this.services.get(svc.name) !== svc) {
        svc.server.close();
        return;
      }
      svc.listening = true;
      this.counters.published++;
      this.o.log.info({ peer: member.name, service: svc.name, port: svc.port, listen: `${this.o.listenHost}:${svc.port}` }, 'service published');
      ok();
    });
  }

  /** A STREAM message from a member. */
  onStream(member: PublishMember | undefined, msg: Extract<InnerMessage, { kind: InnerKind.STREAM }>, fromKey: Uint8Array): void {
    // Several hubs: a member homed elsewhere answers on its session with this hub (guest services).
    const id = member?.id ?? this.o.cluster?.idOf(fromKey);
    const conn = id !== undefined ? this.streams.get(id)?.get(msg.conv) : undefined;
    if (!conn) {
      this.counters.unknownConv++;
      // Unknown conv (closed, or from before a hub restart): tell the peer to drop it, like a TCP RST.
      if (msg.op === StreamOp.DATA) this.sendReset(fromKey, msg.conv, 'unknown stream');
      return;
    }
    if (msg.op === StreamOp.DATA) conn.stream.input(msg.payload);
    else conn.stream.remoteReset(new TextDecoder().decode(msg.payload));
  }

  /** The member left (goodbye, expiry), restarted (new boot id) or, `moved`, registered on another
   * hub (its ports stay claimed for it there): close its ports and streams here. */
  memberGone(memberId: string, why: string, moved = false): void {
    const cluster = this.o.cluster;
    for (const s of [...this.services.values()]) {
      if (s.owner.id !== memberId) continue;
      this.unpublish(s, why);
      // Left the network (not re-homed on another hub): its port is free network-wide.
      if (cluster && !moved && !cluster.homedElsewhere(memberId)) cluster.claims.release(s.port, memberId);
    }
    // Streams of its guest services run on the session it may keep with us: those stay.
    const mine = this.streams.get(memberId);
    if (mine) for (const c of [...mine.values()]) if (!c.service.guest) c.stream.dispose(`peer ${why}`);
    if (mine?.size === 0) this.streams.delete(memberId);
    if (cluster) this.syncClaims();
  }

  /** Several hubs: opens and closes guest listeners to match the claims and the map (guest-plan.ts). */
  syncClaims(): void {
    const cluster = this.o.cluster;
    if (!cluster || this.closed) return;
    const own = [...this.services.values()].map((s) => ({ name: s.name, port: s.port, owner: s.owner.id }));
    const guests = [...this.guests.values()].map((g) => ({ port: g.port, owner: g.owner.id, name: g.name }));
    const plan = planGuests(cluster.claims.all(), own, guests, this.o.allow, (id) => cluster.isLocal(id), (id) => cluster.member(id) !== undefined);
    for (const port of plan.close) {
      const g = this.guests.get(port);
      if (g) this.closeGuest(g, 'its claim or its owner went');
    }
    for (const c of plan.open) {
      const owner = cluster.member(c.owner);
      if (owner) this.openGuest(c, owner);
    }
  }

  status(): PublishedServiceStatus[] {
    return [...this.services.values(), ...this.guests.values()].map((s) => {
      const conns = [...s.conns.values()].map((c) => ({
        conv: c.stream.conv, visitor: c.visitor, bytesIn: c.stream.bytesSent, bytesOut: c.stream.bytesReceived, waitSnd: c.stream.waitSnd,
      }));
      return {
        name: s.name, port: s.port, owner: Buffer.from(s.owner.publicKey).toString('base64'), ownerName: s.owner.name, listening: s.listening, ...(s.guest ? { guest: true } : {}),
        connections: s.conns.size, totalConnections: s.total, refusedConnections: s.refused, refusedBy: { ...s.refusedBy },
        idleClosed: s.idleClosed, budgetResets: s.budgetResets,
        bytesIn: s.bytesInClosed + conns.reduce((a, c) => a + c.bytesIn, 0),
        bytesOut: s.bytesOutClosed + conns.reduce((a, c) => a + c.bytesOut, 0),
        conns,
      };
    });
  }

  close(): void {
    this.closed = true;
    for (const s of [...this.services.values()]) this.unpublish(s, 'hub stopping');
    for (const g of [...this.guests.values()]) this.closeGuest(g, 'hub stopping');
    if (this.guestTimer !== undefined) this.o.clock.clearTimer(this.guestTimer);
    this.guestTimer = undefined;
    if (this.idleTimer !== undefined) this.o.clock.clearTimer(this.idleTimer);
    if (this.summaryTimer !== undefined) this.o.clock.clearTimer(this.summaryTimer);
    this.idleTimer = this.summaryTimer = undefined;
  }

  /** Cumulative visitor events over all services (metrics): opened, refused_<reason>, idle_closed, budget_reset. */
  visitorEvents(): Record<string, number> {
    const ev: Record<string, number> = { opened: this.counters.opened, idle_closed: this.counters.idleClosed, budget_reset: this.budget.counters.resets };
    for (const [k, v] of Object.entries(this.counters.refusedBy)) ev[`refused_${k.replace('-', '_')}`] = v;
    return ev;
  }

  /** Logs one line per service that saw connections since the last one; re-arms while services exist. */
  logSummaries(): void {
    this.summaryTimer = undefined;
    for (const s of [...this.services.values(), ...this.guests.values()]) {
      if (s.tally.empty) continue;
      this.o.log.info({ service: s.name, port: s.port, open: s.conns.size, ...s.tally.take() }, 'visitor connections');
    }
    this.armSummary();
  }

  // ---- internals ----

  private unpublish(s: Service, why: string): void {
    this.services.delete(s.name);
    s.server.close();
    for (const c of [...s.conns.values()]) c.stream.dispose(why);
    this.o.log.info({ service: s.name, port: s.port, why, open: s.conns.size, ...s.tally.take() }, 'service unpublished');
  }

  private openGuest(c: ClaimView, owner: PublishMember): void {
    const g: Service = {
      name: c.name, port: c.port, owner, server: createServer({ allowHalfOpen: true, pauseOnConnect: false }), guest: true,
      listening: false, conns: new Map(), total: 0, refused: 0, refusedBy: {}, idleClosed: 0, budgetResets: 0, bytesInClosed: 0, bytesOutClosed: 0,
      tally: new ConnTally(),
    };
    this.guests.set(c.port, g);
    this.armSummary();
    g.server.on('connection', (sock) => this.onVisitor(g, sock));
    g.server.once('error', (e: NodeJS.ErrnoException) => {
      if (this.guests.get(g.port) === g && !g.listening) this.guests.delete(g.port);
      if (!this.guestFailed.has(g.port)) this.o.log.warn({ service: g.name, port: g.port, err: e.code ?? e.message }, 'publish: cannot listen for a service of a member homed on another hub; tried again later');
      this.guestFailed.add(g.port);
    });
    g.server.listen({ port: c.port, host: this.o.listenHost, exclusive: true }, () => {
      if (this.guests.get(g.port) !== g) {
        g.server.close();
        return;
      }
      g.listening = true;
      this.guestFailed.delete(g.port);
      this.o.log.info({ peer: owner.name, service: g.name, port: g.port }, 'publish: listening for a service of a member homed on another hub');
    });
  }

  private closeGuest(g: Service, why: string): void {
    if (this.guests.get(g.port) === g) this.guests.delete(g.port);
    g.server.close();
    for (const c of [...g.conns.values()]) c.stream.dispose(why);
    this.o.log.info({ service: g.name, port: g.port, why, ...g.tally.take() }, 'publish: guest listener closed');
  }

  private armGuestSync(): void {
    this.guestTimer = this.o.clock.setTimer(guestSyncMs, () => {
      this.syncClaims();
      this.armGuestSync();
    });
  }

  private armSummary(): void {
    if (this.summaryTimer !== undefined || this.services.size + this.guests.size === 0) return;
    this.summaryTimer = this.o.clock.setTimer(summaryIntervalMs, () => this.logSummaries());
  }

  private refuseVisitor(svc: Service, sock: Socket, why: string): void {
    svc.refused++;
    svc.refusedBy[why] = (svc.refusedBy[why] ?? 0) + 1;
    svc.tally.refuse(why);
    this.counters.visitorsRefused++;
    this.counters.refusedBy[why] = (this.counters.refusedBy[why] ?? 0) + 1;
    sock.resetAndDestroy();
  }

  /** Closes connections idle for idleMs; runs only while some are open. */
  private armIdle(): void {
    if (this.idleTimer !== undefined || this.idleMs <= 0) return;
    this.idleTimer = this.o.clock.setTimer(idleSweepMs(this.idleMs), () => {
      this.idleTimer = undefined;
      const now = this.o.clock.now();
      let open = 0;
      for (const s of [...this.services.values(), ...this.guests.values()]) {
        for (const c of [...s.conns.values()]) {
          if (isIdle(now, c.stream.lastActivityAt, this.idleMs)) {
            s.idleClosed++;
            this.counters.idleClosed++;
            c.stream.reset(`idle for ${Math.round((now - c.stream.lastActivityAt) / 1000)} s`);
          } else open++;
        }
      }
      if (open > 0) this.armIdle();
    });
  }

  private onVisitor(svc: Service, sock: Socket): void {
    const visitor = `${sock.remoteAddress}:${sock.remotePort}`;
    const ip = (sock.remoteAddress ?? '').replace(/^::ffff:/, '');
    if ((svc.guest ? this.guests.get(svc.port) : this.services.get(svc.name)) !== svc) {
      sock.resetAndDestroy();
      return;
    }
    // A member homed elsewhere with no session to this hub (not its standby): closed at once, counted.
    if (svc.guest && this.o.cluster?.reachable(svc.owner.publicKey) !== true) {
      this.refuseVisitor(svc, sock, 'no-session');
      return;
    }
    // Counted, not logged one by one (a flood would be a log flood): see logSummaries and status.
    const verdict = this.gate.admit(ip, this.o.clock.now(), svc.conns.size, this.maxConns);
    if (verdict !== 'ok') {
      this.refuseVisitor(svc, sock, verdict);
      return;
    }
    const owner = svc.owner;
    let mine = this.streams.get(owner.id);
    if (!mine) this.streams.set(owner.id, (mine = new Map()));
    let conv = 0;
    do conv = this.nextConv = (this.nextConv + 1) >>> 0;
    while (conv === 0 || mine.has(conv));
    const table = mine;
    const stream = new KcpStream({
      conv,
      clock: this.o.clock,
      send: (inner) => this.o.send(owner.publicKey, inner),
      budget: this.budget,
      onDispose: () => {
        if (table.get(conv) === conn) table.delete(conv);
      },
    });
    const conn: Conn = { stream, visitor, ip, service: svc };
    table.set(conv, conn);
    svc.conns.set(conv, conn);
    svc.total++;
    svc.tally.opened++;
    this.counters.opened++;
    this.armIdle();
    sock.setNoDelay(true);
    pipeSocket(sock, stream, `visitor ${visitor}`, {
      closed: (reason) => {
        svc.conns.delete(conv);
        this.gate.release(ip);
        svc.bytesInClosed += stream.bytesSent;
        svc.bytesOutClosed += stream.bytesReceived;
        if (reason?.startsWith('buffer budget')) svc.budgetResets++;
        svc.tally.closeWith(reason);
        const f = { service: svc.name, conv, visitor, bytesIn: stream.bytesSent, bytesOut: stream.bytesReceived };
        this.o.log.debug(reason === undefined ? f : { ...f, reason }, 'visitor connection closed');
      },
    });
    this.o.log.debug({ service: svc.name, conv, visitor }, 'visitor connected');
    this.o.sendReliable(
      owner,
      (seq) => ({ type: ControlType.STREAM_OPEN, seq, conv, name: svc.name, visitor: wireVisitor(sock) }),
      () => stream.reset('the peer did not acknowledge STREAM_OPEN'),
    );
  }

  private sendReset(key: Uint8Array, conv: number, reason: string): void {
    this.o.send(key, encodeInner({ kind: InnerKind.STREAM, op: StreamOp.RESET, conv, payload: new TextEncoder().encode(reason) }));
  }
}

/** The visitor's IPv4 endpoint for STREAM_OPEN (0.0.0.0 when it is not IPv4). */
function wireVisitor(sock: Socket): { address: string; port: number } {
  const a = (sock.remoteAddress ?? '').replace(/^::ffff:/, '');
  return { address: /^\d{1,3}(\.\d{1,3}){3}$/.test(a) ? a : '0.0.0.0', port: sock.remotePort ?? 0 };
}
