// Runs the peer's hub leg (issue 21, docs/STREAM.md): probes the hub over UDP and over the stream
// (wire/probe.ts), opens and reopens the TCP or TLS connection, asks peer/transport-choice.ts once a
// second which leg to use and switches net/hub-leg-socket.ts. Logs each switch at info with its
// reason; `meshd status` and the metrics read status() and switches. peer/run.ts composes it.
import { randomBytes } from 'node:crypto';
import type { HubTransportSetting } from '../config/schema.js';
import type { HubLegName, HubLegSocket } from '../net/hub-leg-socket.js';
import type { StreamConn, StreamKind } from '../net/stream-node.js';
import type { Endpoint } from '../net/udp.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { openProbe, sealProbe } from '../crypto/transport-probe.js';
import { probeTypeOf, ProbeType } from '../wire/probe.js';
import { CHOICE_REASON_TEXT, chooseHubLeg, lossPct, lossWindow, type ChoiceReason, type HubLeg } from './transport-choice.js';

/** Local tuning: one decision (and at most one probe per leg) a second. */
export const tickMs = 1_000;
/** A probe unanswered this long is lost (the hub answers at once; 2 s covers a congested path). */
export const probeTimeoutMs = 2_000;
/** UDP probes while UDP is the healthy current leg: one every 2 s (32 B/s); else one a second. */
export const udpProbeRelaxedMs = 2_000;
/** A stream connect that takes longer has failed. */
export const connectTimeoutMs = 4_000;
/** A stream no longer wanted is kept this long after a switch (replies the hub sent down it still arrive). */
export const streamGraceMs = 30_000;
/** An older hub answers over UDP (heartbeats, map) but not probes: heard within this, UDP is not silent. */
export const legacyHubHeardMs = 45_000;
/** Probes before a UDP loss figure is given out (udpLossPct): one lost of fewer says little. */
export const lossFigureMinProbes = 10;
/** Reconnect backoff. */
export const reconnectMinMs = 1_000;
export const reconnectMaxMs = 30_000;

export type StreamConnector = (to: Endpoint, kind: StreamKind, timeoutMs: number) => Promise<StreamConn>;

export interface HubTransportOptions {
  setting: HubTransportSetting;
  socket: HubLegSocket;
  /** The hub's TCP and TLS endpoints. */
  tcp: Endpoint;
  tls: Endpoint;
  connect: StreamConnector;
  /** crypto/transport-probe.ts transportProbeKey(psk): probes carry its MAC, replies must. */
  probeKey: Uint8Array;
  clock: Clock;
  log: Logger;
  /** Called after each switch (the daemon sends a heartbeat so the hub's path follows at once). */
  onSwitch?: (leg: HubLeg) => void;
}

export interface HubTransportStatus {
  setting: HubTransportSetting;
  leg: HubLeg;
  reason: string;
  sinceMsAgo: number;
  switches: number;
  udp: { lossPct: number | null; rttMs: number | null; lastAnswerMsAgo: number | null };
  stream: { kind: StreamKind; up: boolean; lossPct: number | null; rttMs: number | null };
}

interface Outstanding {
  seq: number;
  sentMs: number;
}

class ProbeLeg {
  readonly outcomes: boolean[] = [];
  outstanding: Outstanding[] = [];
  rttMs: number | undefined;
  lastAnswerMs = -Infinity;
  lastSentMs = -Infinity;
  /** Any datagram from the hub on this leg (not only probe replies). */
  lastHeardMs = -Infinity;
  everAnswered = false;

  record(ok: boolean): void {
    this.outcomes.push(ok);
    if (this.outcomes.length > lossWindow) this.outcomes.shift();
  }

  expire(now: number): void {
    while (this.outstanding.length > 0 && now - this.outstanding[0]!.sentMs >= probeTimeoutMs) {
      this.outstanding.shift();
      this.record(false);
    }
  }

  answer(seq: number, now: number): boolean {
    const i = this.outstanding.findIndex((o) => o.seq === seq);
    if (i < 0) return false;
    const o = this.outstanding[i]!;
    this.outstanding.splice(i, 1);
    this.record(true);
    this.rttMs = now - o.sentMs;
    this.lastAnswerMs = now;
    this.everAnswered = true;
    return true;
  }

  reset(): void {
    this.outcomes.length = 0;
    this.outstanding = [];
  }
}

export class HubTransport {
  /** Switches by the leg switched to (metrics: meshd_hub_transport_switches_total{to}). */
  readonly switches: Record<HubLeg, number> = { udp: 0, tcp: 0, tls: 0 };
  private leg: HubLeg = 'udp';
  private reason: ChoiceReason = 'udp-ok';
  private switchedMs: number;
  private readonly startedMs: number;
  private streamKind: StreamKind;
  private connecting = false;
  private nextConnectMs = 0;
  private backoffMs = reconnectMinMs;
  private streamOpenedMs = 0;
  private notWantedSinceMs: number | undefined;
  /** Probe replies dropped: malformed, a wrong MAC (not the hub, or another network) or a stale token. */
  badReplies = 0;
  private readonly udpProbes = new ProbeLeg();
  private readonly streamProbes = new ProbeLeg();
  private readonly token = randomBytes(4).readUInt32BE(0);
  private seq = 0;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly o: HubTransportOptions) {
    this.startedMs = this.switchedMs = o.clock.now();
    this.streamKind = o.setting === 'tls' ? 'tls' : 'tcp';
    if (o.setting !== 'auto') {
      this.leg = o.setting;
      this.reason = 'pinned';
    }
    o.socket.useStream = this.leg !== 'udp';
  }

  /** The hub leg socket's intercept: probe replies are ours, anything else goes on to the link. */
  readonly intercept = (d: Buffer, leg: HubLegName): boolean => {
    if (probeTypeOf(d) !== ProbeType.Reply) {
      if (leg === 'udp') this.udpProbes.lastAnswerMs = this.udpProbes.lastHeardMs = this.o.clock.now();
      return false;
    }
    // Only the hub's replies count (the network secret's MAC): a middlebox cannot fake a live leg.
    const p = openProbe(this.o.probeKey, d);
    if (typeof p !== 'string' && p.token === this.token) (leg === 'udp' ? this.udpProbes : this.streamProbes).answer(p.seq, this.o.clock.now());
    else this.badReplies++;
    return true;
  };

  start(): void {
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
    this.o.socket.setStream(undefined);
  }

  get current(): HubLeg {
    return this.leg;
  }

  /** Round-trip loss (%) of the last UDP probes, once there are enough to mean something; undefined
   * before, or with a pinned leg (no probes). Read by the per-pair channel choice (run.ts). */
  udpLossPct(): number | undefined {
    return this.udpProbes.outcomes.length >= lossFigureMinProbes ? lossPct(this.udpProbes.outcomes) : undefined;
  }

  status(): HubTransportStatus {
    const now = this.o.clock.now();
    const pct = (l: ProbeLeg) => {
      const v = lossPct(l.outcomes);
      return v === undefined ? null : Math.round(v);
    };
    return {
      setting: this.o.setting,
      leg: this.leg,
      reason: CHOICE_REASON_TEXT[this.reason],
      sinceMsAgo: Math.round(now - this.switchedMs),
      switches: this.switches.udp + this.switches.tcp + this.switches.tls,
      udp: { lossPct: pct(this.udpProbes), rttMs: this.udpProbes.rttMs === undefined ? null : Math.round(this.udpProbes.rttMs * 10) / 10, lastAnswerMsAgo: Number.isFinite(this.udpProbes.lastAnswerMs) ? Math.round(now - this.udpProbes.lastAnswerMs) : null },
      stream: { kind: this.streamKind, up: this.o.socket.stream !== undefined, lossPct: pct(this.streamProbes), rttMs: this.streamProbes.rttMs === undefined ? null : Math.round(this.streamProbes.rttMs * 10) / 10 },
    };
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    this.udpProbes.expire(now);
    this.streamProbes.expire(now);
    this.probe(now);
    // Up = connected and the hub answered a probe on it: a stalled hub (both legs silent) must not
    // send every peer to TCP at once just because the kernel completed the connection.
    const streamUp = this.o.socket.stream !== undefined && this.streamProbes.lastAnswerMs >= this.streamOpenedMs;
    // A hub that never answered a probe but talks over UDP is an older one: UDP works.
    const legacy = !this.udpProbes.everAnswered && now - this.udpProbes.lastHeardMs < legacyHubHeardMs;
    const c = chooseHubLeg({
      setting: this.o.setting,
      current: this.leg,
      currentReason: this.reason,
      streamKind: this.streamKind,
      streamUp,
      udpProbes: legacy ? [] : this.udpProbes.outcomes,
      streamProbes: this.streamProbes.outcomes,
      udpSilentMs: legacy ? 0 : now - Math.max(this.udpProbes.lastAnswerMs, this.startedMs, this.leg === 'udp' ? this.switchedMs : -Infinity),
      sinceSwitchMs: now - this.switchedMs,
    });
    // Auto mode may have moved from TCP to TLS (or back) under the same decision: name the leg in use.
    const s = this.o.socket.stream;
    if (c.leg !== 'udp' && this.o.setting === 'auto' && s) c.leg = s.kind;
    if (c.leg !== this.leg) this.switchTo(c.leg, c.reason, now);
    else this.reason = c.reason;
    this.manageStream(c.wantStream, now);
    this.timer = this.o.clock.setTimer(tickMs, () => this.tick());
  }

  private probe(now: number): void {
    if (this.o.setting === 'udp') return;
    const relaxed = this.leg === 'udp' && this.udpProbes.outcomes.slice(-3).every((x) => x) && this.udpProbes.outcomes.length >= 3;
    if (this.o.setting === 'auto' && now - this.udpProbes.lastSentMs >= (relaxed ? udpProbeRelaxedMs : tickMs) - 50) {
      const seq = ++this.seq;
      this.udpProbes.outstanding.push({ seq, sentMs: now });
      this.udpProbes.lastSentMs = now;
      this.o.socket.sendUdp(sealProbe(this.o.probeKey, seq, this.token));
    }
    if (this.o.socket.stream) {
      const seq = ++this.seq;
      this.streamProbes.outstanding.push({ seq, sentMs: now });
      if (!this.o.socket.sendStream(sealProbe(this.o.probeKey, seq, this.token))) this.streamProbes.outstanding.pop();
    }
  }

  private switchTo(leg: HubLeg, reason: ChoiceReason, now: number): void {
    const from = this.leg;
    this.leg = leg;
    this.reason = reason;
    this.switchedMs = now;
    this.switches[leg]++;
    this.o.socket.useStream = leg !== 'udp';
    // A fresh UDP history for the next judgement: losses from before the switch say nothing now.
    this.udpProbes.reset();
    this.o.log.info({ from, to: leg, reason, why: CHOICE_REASON_TEXT[reason], udpLossPct: this.status().udp.lossPct }, `hub transport: ${from} -> ${leg} (${CHOICE_REASON_TEXT[reason]})`);
    this.o.onSwitch?.(leg);
  }

  private manageStream(want: boolean, now: number): void {
    const sock = this.o.socket;
    if (!want) {
      this.notWantedSinceMs ??= now;
      if (sock.stream && this.leg === 'udp' && now - this.notWantedSinceMs >= streamGraceMs && now - this.switchedMs >= streamGraceMs) {
        this.o.log.debug('hub transport: closing the unused stream');
        sock.setStream(undefined);
      }
      return;
    }
    this.notWantedSinceMs = undefined;
    const s = sock.stream;
    if (s) {
      if (this.streamProbes.lastAnswerMs >= this.streamOpenedMs) this.backoffMs = reconnectMinMs;
      // Connected but the hub never answers a probe on it (a middlebox that accepts and drops):
      // count it as a failed attempt.
      if (this.streamProbes.lastAnswerMs < this.streamOpenedMs && now - this.streamOpenedMs >= connectTimeoutMs) {
        this.o.log.info({ kind: s.kind }, 'hub transport: the hub does not answer on the stream; closing it');
        sock.setStream(undefined);
        this.failed(now);
      }
      return;
    }
    if (this.connecting || now < this.nextConnectMs) return;
    this.connecting = true;
    const kind = this.o.setting === 'auto' ? this.streamKind : (this.o.setting as StreamKind);
    const to = kind === 'tls' ? this.o.tls : this.o.tcp;
    this.o.connect(to, kind, connectTimeoutMs).then(
      (conn) => {
        this.connecting = false;
        if (this.stopped) return conn.close('stopped');
        this.streamOpenedMs = this.o.clock.now();
        this.streamProbes.reset();
        sock.setStream(conn);
        this.o.log.info({ kind, hub: `${to.address}:${to.port}` }, `hub transport: ${kind.toUpperCase()} connection to the hub open`);
        conn.onClose((why) => {
          if (!this.stopped) this.o.log.info({ kind, why }, `hub transport: ${kind.toUpperCase()} connection to the hub closed`);
        });
        // The session's next datagram goes down the stream at once if that is the leg now.
        if (this.leg !== 'udp') this.o.onSwitch?.(this.leg);
      },
      (e: unknown) => {
        this.connecting = false;
        this.o.log.info({ kind, hub: `${to.address}:${to.port}`, err: (e as NodeJS.ErrnoException).code ?? String(e) }, `hub transport: cannot open ${kind.toUpperCase()} to the hub`);
        this.failed(this.o.clock.now());
      },
    );
  }

  /** A failed stream attempt: back off, and in auto mode try the other kind next. */
  private failed(now: number): void {
    this.nextConnectMs = now + this.backoffMs;
    this.backoffMs = Math.min(reconnectMaxMs, this.backoffMs * 2);
    if (this.o.setting === 'auto') this.streamKind = this.streamKind === 'tcp' ? 'tls' : 'tcp';
  }
}
