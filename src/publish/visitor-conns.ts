// The hub's end of visitor connections to published services: admits a visitor (per-service and
// per-IP limits, visitor-gate.ts), opens a KcpStream with its own conv to the owning member
// (STREAM_OPEN), feeds it the member's STREAM messages, closes idle ones (idle.ts) and bounds their
// buffered bytes (stream-budget.ts). publish/hub-publisher.ts owns the listeners and hands it each
// accepted socket; it does not listen, admit PUBLISH or know the cluster's claims.
import type { Socket } from 'node:net';
import type { TimerHandle } from '../util/clock.js';
import { ControlType } from '../wire/control.js';
import { encodeInner, InnerKind, StreamOp, type InnerMessage } from '../wire/inner.js';
import { KcpStream } from './kcp-stream.js';
import { defaultIdleTimeoutMs, idleSweepMs, isIdle } from './idle.js';
import { pipeSocket } from './pipe.js';
import { defaultStreamBudgetBytes, StreamBudget } from './stream-budget.js';
import { VisitorGate } from './visitor-gate.js';
import { defaultMaxConnsPerService, type HubPublisherOptions, type PublishMember } from './publisher-options.js';
import type { Conn, Service } from './published-service.js';

/** The publisher's counters this part moves (the same object as HubPublisher.counters). */
export interface VisitorCounters {
  unknownConv: number;
  opened: number;
  visitorsRefused: number;
  idleClosed: number;
  refusedBy: Record<string, number>;
}

export class VisitorConns {
  /** Streams by member id, then conv. */
  private readonly streams = new Map<string, Map<number, Conn>>();
  private nextConv = (Math.random() * 0x7fffffff) >>> 0;
  private readonly maxConns: number;
  readonly gate: VisitorGate;
  readonly budget: StreamBudget;
  private readonly idleMs: number;
  private idleTimer: TimerHandle | undefined;

  /** `services` lists every service with connections (own and guest), for the idle sweep. */
  constructor(
    private readonly o: HubPublisherOptions,
    private readonly counters: VisitorCounters,
    private readonly services: () => Service[],
  ) {
    this.maxConns = o.maxConnsPerService ?? defaultMaxConnsPerService;
    this.gate = new VisitorGate({
      ...(o.maxConnsPerIp !== undefined ? { maxPerIp: o.maxConnsPerIp } : {}),
      ...(o.acceptsPerSec !== undefined ? { acceptsPerSec: o.acceptsPerSec } : {}),
    });
    this.budget = new StreamBudget(o.bufferBytes ?? defaultStreamBudgetBytes, o.clock);
    this.idleMs = o.idleTimeoutMs ?? defaultIdleTimeoutMs;
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

  /** The member left, restarted or moved: its streams close, but those of its guest services, which
   * run on the session it may keep with this hub, stay. */
  dropMember(memberId: string, why: string): void {
    const mine = this.streams.get(memberId);
    if (mine) for (const c of [...mine.values()]) if (!c.service.guest) c.stream.dispose(`peer ${why}`);
    if (mine?.size === 0) this.streams.delete(memberId);
  }

  close(): void {
    if (this.idleTimer !== undefined) this.o.clock.clearTimer(this.idleTimer);
    this.idleTimer = undefined;
  }

  private refuse(svc: Service, sock: Socket, why: string): void {
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
      for (const s of this.services()) {
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

  /** A visitor of a service that is still listened for (the publisher checked). */
  accept(svc: Service, sock: Socket): void {
    const visitor = `${sock.remoteAddress}:${sock.remotePort}`;
    const ip = (sock.remoteAddress ?? '').replace(/^::ffff:/, '');
    // A member homed elsewhere with no session to this hub (not its standby): closed at once, counted.
    if (svc.guest && this.o.cluster?.reachable(svc.owner.publicKey) !== true) {
      this.refuse(svc, sock, 'no-session');
      return;
    }
    // Counted, not logged one by one (a flood would be a log flood): see logSummaries and status.
    const verdict = this.gate.admit(ip, this.o.clock.now(), svc.conns.size, this.maxConns);
    if (verdict !== 'ok') {
      this.refuse(svc, sock, verdict);
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
