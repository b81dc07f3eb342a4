// The peer side of published services: PUBLISH for each spec after every registration (so a hub
// restart or our own restart brings the services back), logs refusals at warn with the hub's reason,
// and for each STREAM_OPEN connects to the local target and pipes it to a KcpStream. Buffered stream
// bytes share one budget (stream-budget.ts); connections are counted and summarised once a minute
// per service (conn-summary.ts), not logged one by one.
// Used by peer/node.ts; talks to the hub through the small HubChannel it is given.
import { connect, type Socket } from 'node:net';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { ControlType, publishRefusalName, type ControlMessage } from '../wire/control.js';
import { encodeInner, InnerKind, StreamOp, type InnerMessage } from '../wire/inner.js';
import { KcpStream } from './kcp-stream.js';
import { ConnTally, summaryIntervalMs } from './conn-summary.js';
import { pipeSocket } from './pipe.js';
import { defaultStreamBudgetBytes, StreamBudget } from './stream-budget.js';
import type { PublishSpec } from './spec.js';

/** Local tuning: a stream the hub does not know any more is answered with RESET for this long. */
export const recentlyClosedMs = 30_000;
/** Local tuning: PUBLISH is re-sent this often until answered (then at each registration). */
export const publishRetryMs = 1_000;
export const publishMaxSends = 8;

export interface HubChannel {
  /** An inner message on the hub session. */
  sendInner(inner: Uint8Array): void;
  /** A control message to the hub, once (the caller retries). */
  sendControl(make: (seq: number) => ControlMessage): number;
}

/** Several hubs (issue 24 item 3): a hub other than home that opens streams to us (our standby,
 * for visitors of our services who arrived there); its streams answer on its session. */
export interface OtherHub {
  /** Its key id (stream ids are per hub). */
  id: string;
  sendInner(inner: Uint8Array): void;
}

export type ServiceState = 'pending' | 'published' | 'refused';

export interface ServiceStatus {
  name: string;
  publicPort: number;
  target: string;
  state: ServiceState;
  /** The hub's reason when refused. */
  reason?: string;
  connections: number;
  totalConnections: number;
  /** hub -> target, and target -> hub, over the service's life. */
  bytesIn: number;
  bytesOut: number;
  /** Connections reset by the buffer budget (slow readers). */
  budgetResets: number;
}

interface Svc {
  spec: PublishSpec;
  state: ServiceState;
  reason?: string;
  seq: number;
  sends: number;
  timer: TimerHandle | undefined;
  conns: Set<KcpStream>;
  total: number;
  bytesInClosed: number;
  bytesOutClosed: number;
  budgetResets: number;
  tally: ConnTally;
}

export interface ServiceManagerOptions {
  specs: readonly PublishSpec[];
  clock: Clock;
  log: Logger;
  hub: HubChannel;
  /** Budget for bytes buffered in all streams (--publish-buffer-mb). */
  bufferBytes?: number;
  /** Test hook: how to reach a target (default node:net connect). */
  connect?: (host: string, port: number) => Socket;
}

export class ServiceManager {
  private readonly svcs = new Map<string, Svc>();
  /** By conv (home hub) or `hubId/conv` (another hub: convs are each hub's own). */
  private readonly streams = new Map<number | string, KcpStream>();
  private readonly closedAt = new Map<number | string, number>();
  private stopped = false;
  private summaryTimer: TimerHandle | undefined;
  readonly budget: StreamBudget;
  readonly counters = { unknownConv: 0, opens: 0, targetErrors: 0 };

  constructor(private readonly o: ServiceManagerOptions) {
    this.budget = new StreamBudget(o.bufferBytes ?? defaultStreamBudgetBytes, o.clock);
    for (const spec of o.specs) {
      this.svcs.set(spec.name, {
        spec, state: 'pending', seq: 0, sends: 0, timer: undefined, conns: new Set(), total: 0, bytesInClosed: 0, bytesOutClosed: 0,
        budgetResets: 0, tally: new ConnTally(),
      });
    }
  }

  /** After every REGISTER_OK: (re-)publish every service; a hub that restarted forgot them. */
  onRegistered(): void {
    for (const s of this.svcs.values()) {
      s.state = s.state === 'refused' ? 'refused' : 'pending';
      s.sends = 0;
      this.sendPublish(s);
    }
  }

  /** The hub lost us or we restart our session: every stream on it is gone. */
  onSessionLost(why: string): void {
    for (const st of [...this.streams.values()]) st.dispose(why);
  }

  /** PUBLISH_OK / PUBLISH_REFUSED / STREAM_OPEN; false for other types. */
  onControl(msg: ControlMessage, ack: (seq: number) => void, via?: OtherHub): boolean {
    switch (msg.type) {
      case ControlType.PUBLISH_OK: {
        const s = this.svcs.get(msg.name);
        if (!s || msg.seq !== s.seq) return true;
        this.stopRetry(s);
        if (s.state !== 'published') this.o.log.info({ service: s.spec.name, publicPort: msg.port, target: target(s.spec) }, 'service published on the hub');
        s.state = 'published';
        delete s.reason;
        return true;
      }
      case ControlType.PUBLISH_REFUSED: {
        const s = this.svcs.get(msg.name);
        if (!s || msg.seq !== s.seq) return true;
        this.stopRetry(s);
        if (s.state !== 'refused' || s.reason !== msg.text) {
          this.o.log.warn({ service: s.spec.name, publicPort: s.spec.publicPort, code: `PUBLISH_REFUSED_${publishRefusalName[msg.reason]}`, reason: msg.text }, 'hub refused to publish the service');
        }
        s.state = 'refused';
        s.reason = msg.text;
        return true;
      }
      case ControlType.STREAM_OPEN:
        ack(msg.seq);
        this.onOpen(msg, via);
        return true;
      default:
        return false;
    }
  }

  /** A STREAM message from the hub. */
  onStream(msg: Extract<InnerMessage, { kind: InnerKind.STREAM }>, via?: OtherHub): void {
    const st = this.streams.get(streamKey(msg.conv, via));
    if (st) {
      if (msg.op === StreamOp.DATA) st.input(msg.payload);
      else st.remoteReset(new TextDecoder().decode(msg.payload));
      return;
    }
    this.counters.unknownConv++;
    // Data for a stream we closed: tell the hub. Data that beat its STREAM_OPEN: KCP resends it.
    const at = this.closedAt.get(streamKey(msg.conv, via));
    if (msg.op === StreamOp.DATA && at !== undefined && this.o.clock.now() - at < recentlyClosedMs) {
      (via ?? this.o.hub).sendInner(encodeInner({ kind: InnerKind.STREAM, op: StreamOp.RESET, conv: msg.conv, payload: new TextEncoder().encode('stream closed') }));
    }
  }

  status(): ServiceStatus[] {
    return [...this.svcs.values()].map((s) => ({
      name: s.spec.name,
      publicPort: s.spec.publicPort,
      target: target(s.spec),
      state: s.state,
      ...(s.reason !== undefined ? { reason: s.reason } : {}),
      connections: s.conns.size,
      totalConnections: s.total,
      bytesIn: s.bytesInClosed + [...s.conns].reduce((a, c) => a + c.bytesReceived, 0),
      bytesOut: s.bytesOutClosed + [...s.conns].reduce((a, c) => a + c.bytesSent, 0),
      budgetResets: s.budgetResets,
    }));
  }

  /** One line per service that saw connections since the last one; re-armed by the next connection. */
  logSummaries(): void {
    this.summaryTimer = undefined;
    for (const s of this.svcs.values()) {
      if (s.tally.empty) continue;
      this.o.log.info({ service: s.spec.name, target: target(s.spec), open: s.conns.size, ...s.tally.take() }, 'connections');
    }
  }

  close(): void {
    this.stopped = true;
    for (const s of this.svcs.values()) this.stopRetry(s);
    if (this.summaryTimer !== undefined) this.o.clock.clearTimer(this.summaryTimer);
    this.summaryTimer = undefined;
    for (const st of [...this.streams.values()]) st.reset('peer stopping');
  }

  // ---- internals ----

  private sendPublish(s: Svc): void {
    if (this.stopped) return;
    this.stopRetry(s);
    s.seq = this.o.hub.sendControl((seq) => ({ type: ControlType.PUBLISH, seq, name: s.spec.name, port: s.spec.publicPort }));
    s.sends++;
    if (s.sends < publishMaxSends) s.timer = this.o.clock.setTimer(publishRetryMs * Math.min(s.sends, 4), () => this.sendPublish(s));
  }

  private stopRetry(s: Svc): void {
    if (s.timer !== undefined) this.o.clock.clearTimer(s.timer);
    s.timer = undefined;
  }

  private onOpen(msg: Extract<ControlMessage, { type: ControlType.STREAM_OPEN }>, via?: OtherHub): void {
    const key = streamKey(msg.conv, via);
    if (this.streams.has(key) || this.closedAt.has(key) || this.stopped) return; // a retransmitted STREAM_OPEN
    const s = this.svcs.get(msg.name);
    const visitor = `${msg.visitor.address}:${msg.visitor.port}`;
    const conv = msg.conv;
    const stream = new KcpStream({
      conv,
      clock: this.o.clock,
      send: (inner) => (via ?? this.o.hub).sendInner(inner),
      budget: this.budget,
      onDispose: () => {
        if (this.streams.get(key) === stream) this.streams.delete(key);
        this.closedAt.set(key, this.o.clock.now());
        this.pruneClosed();
      },
    });
    this.streams.set(key, stream);
    if (!s) {
      stream.reset(`no service "${msg.name}" on this peer`);
      return;
    }
    this.counters.opens++;
    s.total++;
    s.conns.add(stream);
    s.tally.opened++;
    if (this.summaryTimer === undefined) this.summaryTimer = this.o.clock.setTimer(summaryIntervalMs, () => this.logSummaries());
    const sp = s.spec;
    const sock = (this.o.connect ?? ((h, p) => connect({ host: h, port: p, allowHalfOpen: true })))(sp.targetHost, sp.targetPort);
    sock.setNoDelay(true);
    pipeSocket(sock, stream, `target ${target(sp)}`, {
      closed: (reason) => {
        s.conns.delete(stream);
        s.bytesInClosed += stream.bytesReceived;
        s.bytesOutClosed += stream.bytesSent;
        s.tally.closeWith(reason);
        if (reason?.startsWith('buffer budget')) s.budgetResets++;
        if (reason?.startsWith('target')) this.counters.targetErrors++;
        const f = { service: sp.name, conv, visitor, bytesIn: stream.bytesReceived, bytesOut: stream.bytesSent };
        this.o.log.debug(reason === undefined ? f : { ...f, reason }, 'connection closed');
      },
    });
    this.o.log.debug({ service: sp.name, conv, visitor }, 'connection opened');
  }

  private pruneClosed(): void {
    const now = this.o.clock.now();
    for (const [c, at] of this.closedAt) {
      if (now - at < recentlyClosedMs) break; // insertion order = time order
      this.closedAt.delete(c);
    }
  }
}

function streamKey(conv: number, via: OtherHub | undefined): number | string {
  return via ? `${via.id}/${conv}` : conv;
}

function target(s: PublishSpec): string {
  return `${s.targetHost}:${s.targetPort}`;
}
