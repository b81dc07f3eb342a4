// The hub side of published services: admits PUBLISH (allowed ports, free names), listens on the
// public TCP port, logs one summary line per service per minute (conn-summary.ts), drops a member's
// services when it leaves or restarts, and (several hubs) claims ports network-wide and listens for
// the services of members homed elsewhere (guest-plan.ts). Each accepted visitor goes to
// visitor-conns.ts (limits, KcpStream to the owner, idleness, buffer budget); the records and status
// are published-service.ts, the options publisher-options.ts. hub/server.ts calls it through the
// MemberServices slice it declares; it reaches members through the send functions of its options
// (hub/member-sender.ts, wired in hub/hub.ts), never the server.
import { createServer, type Socket } from 'node:net';
import type { TimerHandle } from '../util/clock.js';
import { ControlType, PublishRefusal, publishRefusalName, type ControlMessage } from '../wire/control.js';
import type { InnerKind, InnerMessage } from '../wire/inner.js';
import { ConnTally, summaryIntervalMs } from './conn-summary.js';
import type { StreamBudget } from './stream-budget.js';
import type { VisitorGate } from './visitor-gate.js';
import { decidePublish, formatPortRanges } from './spec.js';
import { planGuests, type ClaimView } from './guest-plan.js';
import { defaultMaxServicesPerMember, type HubPublisherOptions, type PublishCluster, type PublishMember } from './publisher-options.js';
import { serviceStatus, type PublishedServiceStatus, type Service } from './published-service.js';
import { VisitorConns } from './visitor-conns.js';

/** Local tuning: how often guest listeners are reconciled with the claims and the map (besides at
 * every claim change): an owner that left the network stops being listened for within this. */
export const guestSyncMs = 5_000;

export type { HubPublisherOptions, PublishCluster, PublishLimits, PublishMember } from './publisher-options.js';
export { defaultMaxConnsPerService, defaultMaxServicesPerMember } from './publisher-options.js';
export type { PublishedConnStatus, PublishedServiceStatus } from './published-service.js';

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
  /** Visitor connections of all services (visitor-conns.ts). */
  private readonly visitors: VisitorConns;
  readonly gate: VisitorGate;
  readonly budget: StreamBudget;
  private summaryTimer: TimerHandle | undefined;
  readonly counters = { unknownConv: 0, published: 0, refused: 0, opened: 0, visitorsRefused: 0, idleClosed: 0, refusedBy: {} as Record<string, number>, claimsLost: 0, claimsUnavailable: 0 };

  constructor(private readonly o: HubPublisherOptions) {
    this.visitors = new VisitorConns(o, this.counters, () => [...this.services.values(), ...this.guests.values()]);
    this.gate = this.visitors.gate;
    this.budget = this.visitors.budget;
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
    this.visitors.onStream(member, msg, fromKey);
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
    this.visitors.dropMember(memberId, why);
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
    return [...this.services.values(), ...this.guests.values()].map(serviceStatus);
  }

  close(): void {
    this.closed = true;
    for (const s of [...this.services.values()]) this.unpublish(s, 'hub stopping');
    for (const g of [...this.guests.values()]) this.closeGuest(g, 'hub stopping');
    if (this.guestTimer !== undefined) this.o.clock.clearTimer(this.guestTimer);
    this.guestTimer = undefined;
    this.visitors.close();
    if (this.summaryTimer !== undefined) this.o.clock.clearTimer(this.summaryTimer);
    this.summaryTimer = undefined;
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

  private onVisitor(svc: Service, sock: Socket): void {
    if ((svc.guest ? this.guests.get(svc.port) : this.services.get(svc.name)) !== svc) {
      sock.resetAndDestroy();
      return;
    }
    this.visitors.accept(svc, sock);
  }
}
