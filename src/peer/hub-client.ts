// The peer's side of the control plane: learns (or checks) the hub key (hub-key-ask.ts), registers
// (refusals: hub-refusal.ts), heartbeats (deadlines: heartbeat-policy.ts), ACKs the map's parts
// (assembled and applied by map-receive.ts), reports PUNCH, says GOODBYE, and re-registers when the
// hub restarts or forgets us. Used by node.ts; talks to the hub through the Link. Its options and
// states are hub-client-options.ts.
import type { NatClass } from '../wire/nat-class.js';
import { udpPath, type Path } from '../link/path.js';
import { ReliableSender, SeqDedup } from '../link/reliable.js';
import type { Endpoint } from '../net/udp.js';
import { bytesEqual } from '../util/bytes.js';
import type { TimerHandle } from '../util/clock.js';
import { u32ToIpv4 } from '../util/ipv4.js';
import {
  ControlType, encodeControl, PROTOCOL_VERSION, RefusalReason, REGISTER_FLAG_NAME_HINT, type Assigned, type Candidate, type ControlMessage,
} from '../wire/control.js';
import { encodeInner, InnerKind } from '../wire/inner.js';
import type { MapEvent } from './peer-map.js';
import { heartbeatDeadlineMs, heartbeatRetryMs, onHeartbeatDeadline } from './heartbeat-policy.js';
import type { HubClientOptions, HubClientState } from './hub-client-options.js';
import { HubKeyAsk, hubKeyFirstRetryMs, hubKeyMaxRetryMs } from './hub-key-ask.js';
import { HubRefusedError, refusalLogLevel, refusalRetryMs } from './hub-refusal.js';
import { MapReceiver } from './map-receive.js';

export type { HubClientOptions, HubClientState } from './hub-client-options.js';
export { HubRefusedError } from './hub-refusal.js';

/** Local tuning: how long stop() waits for the GOODBYE ack. */
const goodbyeWaitMs = 1_500;

export class HubClient {
  state: HubClientState = 'learning-key';
  observed: Endpoint | undefined;
  heartbeatMs = 20_000;
  registrations = 0;
  /** Consecutive refusals (0 once registered) and the last one, for status and tests. */
  refusals = 0;
  lastRefusal: HubRefusedError | undefined;
  /** What the hub gave us at the last REGISTER_OK (address, prefix, name). */
  assigned: Assigned | undefined;
  private overlay: number;
  private prefix: number;
  private overlay6: string | undefined;
  private prefix6: number;
  private key: Uint8Array | undefined;
  private hubPath: Path;
  private hubEndpoint: Endpoint;
  private readonly reliable: ReliableSender;
  private dedup = new SeqDedup();
  private registerSeq = 0;
  /** REGISTERs that got no answer at all (the first one is logged: an older hub drops them). */
  private registerTimeouts = 0;
  private heartbeatSeq = 0;
  /** Consecutive heartbeats with no HEARTBEAT_OK (reset by one). */
  private heartbeatMisses = 0;
  /** When the hub last sent us anything (it knows our session). */
  private lastHeardMs = -Infinity;
  private timers = new Set<TimerHandle>();
  private readonly keyAsk: HubKeyAsk;
  private readonly mapRx: MapReceiver;
  private started: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private punchHandler: ((publicKey: Uint8Array, overlay: number, candidates: Candidate[], nat?: NatClass) => void) | undefined;
  private readonly registeredHandlers: Array<() => void> = [];
  private readonly otherControlHandlers: Array<(msg: ControlMessage) => void> = [];
  private goodbyeSeq = 0;
  private goodbyeDone: (() => void) | undefined;

  constructor(private readonly o: HubClientOptions) {
    this.key = o.hubKey;
    this.overlay = o.overlay >>> 0;
    this.prefix = o.prefix;
    this.overlay6 = o.overlay6;
    this.prefix6 = o.prefix6 ?? 0;
    this.hubEndpoint = o.hub;
    this.hubPath = udpPath(o.hub);
    this.reliable = new ReliableSender(o.clock, 1 + Math.floor((o.random ?? Math.random)() * 0x7fffffff));
    this.mapRx = new MapReceiver(o.map, o.log, () => this.heartbeat());
    this.keyAsk = new HubKeyAsk(o);
    o.link.onHubKeyResponse((d, from) => this.onHubKeyResponse(d, from) || (this.o.otherHubKeyResponse?.(d, from) ?? false));
  }

  /** The hub this client registers with (several hubs: the home one). */
  get hub(): Endpoint {
    return this.hubEndpoint;
  }

  /**
   * Several hubs (peer/hub-set.ts): registers with another hub from now on (the home switch). Timers,
   * retransmits and half-assembled maps of the old hub are dropped; the new hub's REGISTER_OK brings
   * its full map. `fresh`: start a new handshake first (the session may be stale).
   */
  retarget(hub: Endpoint, key: Uint8Array, fresh: boolean): void {
    if (this.state === 'stopped') return;
    this.stopTimers();
    this.hubEndpoint = hub;
    this.hubPath = udpPath(hub);
    this.key = key;
    this.dedup = new SeqDedup();
    this.mapRx.clear();
    this.heartbeatSeq = 0;
    this.heartbeatMisses = 0;
    this.registerTimeouts = 0;
    this.lastHeardMs = -Infinity;
    if (fresh) this.o.link.rehandshake(key, this.hubPath);
    this.register();
  }

  get hubKey(): Uint8Array | undefined {
    return this.key;
  }

  onMapEvents(h: (ev: MapEvent[]) => void): void {
    this.mapRx.onMapEvents(h);
  }
  onPunch(h: (publicKey: Uint8Array, overlay: number, candidates: Candidate[], nat?: NatClass) => void): void {
    this.punchHandler = h;
  }
  onRegistered(h: () => void): void {
    this.registeredHandlers.push(h);
  }
  /** Control messages this client does not handle (publish: PUBLISH_OK, PUBLISH_REFUSED, STREAM_OPEN). */
  onOtherControl(h: (msg: ControlMessage) => void): void {
    this.otherControlHandlers.push(h);
  }

  /** Sends a control message built with a fresh seq, once (the caller retries); returns the seq. */
  sendControlOnce(make: (seq: number) => ControlMessage): number {
    const seq = this.reliable.nextSeq();
    this.sendControl(make(seq));
    return seq;
  }

  /** A control message retransmitted until the hub ACKs it (ROUTE_OFFER). */
  sendControlReliable(make: (seq: number) => ControlMessage): void {
    const msg = make(this.reliable.nextSeq());
    this.reliable.track(msg.seq, () => this.sendControl(msg));
  }

  /** ACK(seq) to the hub. */
  ack(seq: number): void {
    this.sendControl({ type: ControlType.ACK, seq });
  }

  /** An inner message (e.g. STREAM) on the hub session. */
  sendInner(inner: Uint8Array): void {
    if (!this.key || this.state === 'stopped') return;
    this.o.link.send(this.key, inner, this.hubPath);
  }

  /** Resolves at the first REGISTER_OK (a refusal is retried with backoff: hub-client never gives up). */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.started = { resolve, reject };
      if (this.o.managed) return;
      if (this.key) this.register();
      else this.askKey(hubKeyFirstRetryMs);
    });
  }

  private after(ms: number, fn: () => void): TimerHandle {
    const h = this.o.clock.setTimer(ms, () => {
      this.timers.delete(h);
      fn();
    });
    this.timers.add(h);
    return h;
  }

  private cancel(h: TimerHandle | undefined): void {
    if (h === undefined) return;
    this.o.clock.clearTimer(h);
    this.timers.delete(h);
  }

  private askKey(retryMs: number): void {
    if (this.state !== 'learning-key') return;
    this.o.link.sendRaw(this.keyAsk.request(), this.hubPath);
    this.after(retryMs, () => this.askKey(Math.min(retryMs * 2, hubKeyMaxRetryMs)));
  }

  /** False when the response is unsolicited, does not come from the configured hub endpoint (trust
   * on first use only from the hub we were told to use, not any member on the path), or does not
   * verify (the link counts it as a drop). */
  private onHubKeyResponse(d: Uint8Array, from: Endpoint): boolean {
    if (this.state !== 'learning-key' || !this.keyAsk.asked) return false;
    if (from.address !== this.hubEndpoint.address || from.port !== this.hubEndpoint.port) return false;
    const key = this.keyAsk.verify(d);
    if (!key) return false;
    this.key = new Uint8Array(key);
    this.o.log.info({ hubKey: Buffer.from(key).toString('base64') }, 'hub-client: learned the hub key (pin it)');
    this.o.onHubKeyLearned?.(this.key);
    this.register();
    return true;
  }

  private sendControl(msg: ControlMessage): void {
    if (!this.key || this.state === 'stopped') return;
    this.o.link.send(this.key, encodeInner({ kind: InnerKind.CONTROL, body: encodeControl(msg) }), this.hubPath);
  }

  private register(): void {
    if (this.state === 'stopped' || !this.key) return;
    this.state = 'registering';
    this.reliable.cancel(this.registerSeq);
    const seq = (this.registerSeq = this.reliable.nextSeq());
    const msg: ControlMessage = {
      type: ControlType.REGISTER, seq, overlay: this.overlay, prefix: this.prefix, name: this.o.name, lan: this.o.lan(), bootId: this.o.bootId,
      flags: (this.o.nameIsHint ? REGISTER_FLAG_NAME_HINT : 0) | (this.o.registerFlags ?? 0),
      ...(this.o.natClass?.() ? { nat: this.o.natClass()! } : {}),
      ...(this.overlay6 !== undefined ? { overlay6: this.overlay6, prefix6: this.prefix6 } : {}),
      ...(this.o.registerCaps ? { caps: this.o.registerCaps } : {}),
      ...(this.o.relayBudget ? { relayBudget: true } : {}),
    };
    this.reliable.track(
      seq,
      () => this.sendControl(msg),
      () => {
        // No answer at all: start over with a fresh handshake. The session is up (REGISTER is sent
        // on it), so the likely cause is a hub of protocol 1, which drops a REGISTER it cannot read.
        if (this.registerTimeouts++ === 0) {
          this.o.log.warn({ protocol: PROTOCOL_VERSION }, `hub-client: no answer to REGISTER: a hub older than protocol version ${PROTOCOL_VERSION} ignores it (run the same meshd release on hub and peers); trying again`);
        }
        this.o.link.rehandshake(this.key!, this.hubPath);
        this.register();
      },
    );
  }

  /** CONTROL messages from the hub (node.ts routes them here). */
  onControl(msg: ControlMessage): void {
    if (this.state === 'stopped') return;
    this.lastHeardMs = this.o.clock.now();
    switch (msg.type) {
      case ControlType.REGISTER_OK: {
        if (msg.seq !== this.registerSeq || this.state !== 'registering') return;
        this.reliable.ack(msg.seq);
        this.state = 'registered';
        this.registrations++;
        this.refusals = 0;
        this.observed = msg.observed;
        this.heartbeatMs = msg.heartbeatMs || this.heartbeatMs;
        const previous = this.assigned;
        // An older hub assigns nothing: what we asked for is what we have.
        const got = msg.assigned ?? { overlay: this.overlay, prefix: this.prefix, name: this.o.name };
        if (this.overlay !== 0 && got.overlay !== this.overlay) {
          this.o.log.error({ asked: u32ToIpv4(this.overlay), got: u32ToIpv4(got.overlay) }, 'hub-client: the hub assigned another address than the one configured; keeping ours');
        } else {
          // From now on ask for this address: the TUN is configured with it.
          this.overlay = got.overlay >>> 0;
          this.prefix = got.prefix;
        }
        // The same for the v6 address the hub gave (or accepted): ask for it again next time.
        if (this.overlay6 !== undefined && got.overlay6 !== undefined) {
          this.overlay6 = got.overlay6;
          this.prefix6 = got.prefix6 ?? 64;
        }
        this.assigned = got;
        this.o.log.info({ observed: `${msg.observed.address}:${msg.observed.port}`, overlay: `${u32ToIpv4(got.overlay)}/${got.prefix}`, name: got.name }, 'hub-client: registered');
        if (previous && previous.name !== got.name) this.o.log.warn({ was: previous.name, now: got.name }, 'hub-client: the hub gave us another name');
        this.scheduleHeartbeat(this.heartbeatMs);
        for (const h of this.registeredHandlers) h();
        this.started?.resolve();
        this.started = undefined;
        return;
      }
      case ControlType.REGISTER_REFUSED: {
        // seq 0: the hub's allow-list refused our key at the handshake (it keeps no state to know the seq).
        const atHandshake = msg.seq === 0 && msg.reason === RefusalReason.KEY_NOT_ALLOWED;
        if (this.state !== 'registering' || (msg.seq !== this.registerSeq && !atHandshake)) return;
        this.reliable.ack(msg.seq);
        this.state = 'refused';
        this.refusals++;
        const err = (this.lastRefusal = new HubRefusedError(msg.reason, msg.text));
        const retryMs = refusalRetryMs(this.refusals, (this.o.random ?? Math.random)());
        // Never a zombie: every refusal is logged and the REGISTER tried again (H1, issue 16.2).
        this.o.log[refusalLogLevel(msg.reason, this.o.nameIsHint ?? false)](
          { code: err.code, refusals: this.refusals, retryInMs: retryMs, overlay: this.overlay === 0 ? 'assign' : u32ToIpv4(this.overlay), name: this.o.name },
          `${err.message}; registering again in ${Math.round(retryMs / 1000)} s`,
        );
        this.after(retryMs, () => {
          if (this.state === 'refused') this.register();
        });
        return;
      }
      case ControlType.HEARTBEAT_OK:
        if (msg.seq === this.heartbeatSeq) {
          this.heartbeatSeq = 0;
          this.heartbeatMisses = 0;
          this.observed = msg.observed;
        }
        return;
      case ControlType.ACK:
        if (msg.seq === this.heartbeatSeq && this.state === 'registered') {
          // The hub does not know us (it restarted, or expired us): register again.
          this.heartbeatSeq = 0;
          this.o.log.info('hub-client: hub forgot us; registering again');
          this.register();
          return;
        }
        this.reliable.ack(msg.seq);
        if (msg.seq === this.goodbyeSeq) this.goodbyeDone?.();
        return;
      case ControlType.MAP:
        this.sendControl({ type: ControlType.ACK, seq: msg.seq });
        return this.mapRx.onMapPart(msg);
      case ControlType.PUNCH:
        this.sendControl({ type: ControlType.ACK, seq: msg.seq });
        if (this.dedup.first(msg.seq)) this.punchHandler?.(msg.publicKey, msg.overlay, msg.candidates, msg.nat);
        return;
      default:
        for (const h of this.otherControlHandlers) h(msg);
        return;
    }
  }

  private scheduleHeartbeat(ms: number): void {
    this.after(ms, () => {
      if (this.state !== 'registered') return;
      this.heartbeat();
      this.scheduleHeartbeat(this.heartbeatMs);
    });
  }

  /** Sends a HEARTBEAT now (also the map repair request); presumes the hub lost if unanswered. */
  heartbeat(): void {
    if (this.state !== 'registered') return;
    const seq = (this.heartbeatSeq = this.reliable.nextSeq());
    const sentMs = this.o.clock.now();
    // Our NAT class (nat/classifier.ts) rides along once known: known means the hub answered NAT
    // probes, so it reads the field (an older hub would refuse the trailing bytes).
    const nat = this.o.natClass?.();
    const send = () => this.sendControl({ type: ControlType.HEARTBEAT, seq, mapVersion: this.o.map.version, lan: this.o.lan(), ...(nat ? { nat } : {}) });
    send();
    for (const t of heartbeatRetryMs) this.after(t, () => this.heartbeatSeq === seq && send());
    this.after(heartbeatDeadlineMs(this.heartbeatMisses, (this.o.random ?? Math.random)()), () => {
      if (this.heartbeatSeq !== seq || this.state !== 'registered') return;
      this.heartbeatMisses++;
      if (onHeartbeatDeadline(this.lastHeardMs > sentMs, this.heartbeatMisses) === 'heartbeat-again') {
        this.o.log.debug({ misses: this.heartbeatMisses }, 'hub-client: heartbeat unanswered but the hub is sending; asking again');
        this.heartbeat();
        return;
      }
      this.o.log.info({ misses: this.heartbeatMisses }, 'hub-client: hub not answering; new handshake and registration');
      this.o.link.rehandshake(this.key!, this.hubPath);
      this.register();
    });
  }

  /** Asks the hub to make both sides punch toward each other now. */
  requestPunch(target: number): void {
    if (this.state !== 'registered') return;
    const seq = this.reliable.nextSeq();
    const msg: ControlMessage = { type: ControlType.PUNCH_REQUEST, seq, target };
    this.reliable.track(seq, () => this.sendControl(msg));
  }

  /** Relays an outer datagram to a peer through the hub (RELAY_TO on the hub session). */
  relay(overlay: number, datagram: Uint8Array): void {
    if (!this.key) return;
    this.o.link.send(this.key, encodeInner({ kind: InnerKind.RELAY_TO, overlay, datagram }), this.hubPath);
  }

  /** Sends a whole RELAY_TO plaintext the link built (link/remote.ts LinkOptions.relayFrame). */
  relayFrame(frame: Uint8Array): void {
    if (!this.key) return;
    this.o.link.send(this.key, frame, this.hubPath);
  }

  isHub(publicKey: Uint8Array): boolean {
    return this.key !== undefined && bytesEqual(publicKey, this.key);
  }

  private stopTimers(): void {
    for (const t of this.timers) this.o.clock.clearTimer(t);
    this.timers.clear();
    this.reliable.cancelAll();
  }

  /** Says GOODBYE (waits briefly for the ack) and stops. */
  stop(): Promise<void> {
    if (this.state === 'stopped') return Promise.resolve();
    const wasRegistered = this.state === 'registered';
    this.stopTimers();
    if (!wasRegistered) {
      this.state = 'stopped';
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const seq = this.reliable.nextSeq();
      const deadline = this.after(goodbyeWaitMs, () => this.goodbyeDone?.());
      this.goodbyeSeq = seq;
      this.goodbyeDone = () => {
        this.goodbyeDone = undefined;
        this.cancel(deadline);
        this.stopTimers();
        this.state = 'stopped';
        resolve();
      };
      this.reliable.track(seq, () => this.sendControl({ type: ControlType.GOODBYE, seq }));
    });
  }
}
