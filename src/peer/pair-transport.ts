// The one per-pair transport decision (issue 19 item 5, issue 21 item 3): KCP or plain datagrams,
// FEC allowed or not, and why, from everything either used to read: the pair's path (direct or
// relayed), our hub leg and the remote's, the UDP leg's probe loss, the pair's measured RTT, loss and
// goodput, the remote's FEC capability and the user's pins (--transport, --kcp-mode, --fec). Pure;
// leg-channel.ts applies it (the only place), fec-stage.ts reads its FEC part, `meshd status` shows
// it. Table: test/peer/pair-transport.test.ts; figures: docs/STREAM.md, docs/ARQ.md.
import type { HubLeg } from './transport-choice.js';
import { cleanForDatagrams } from './interactive-datagram.js';

export type ChannelMode = 'kcp' | 'datagram';
/** --transport: auto = this decision, kcp|datagram = pinned for every pair. */
export type TransportSetting = 'auto' | ChannelMode;
/** --fec (fec-pair.ts FecSetting). */
export type FecGateSetting = 'auto' | 'on' | 'off';

export type TransportReason = 'pinned' | 'direct' | 'udp-legs' | 'stream-leg' | 'stream-leg-lossy-udp';
export type FecReason = 'pinned-off' | 'peer-no-fec' | 'relayed' | 'pinned-on' | 'by-loss';

export const TRANSPORT_REASON_TEXT: Readonly<Record<TransportReason, string>> = {
  pinned: 'set by --transport',
  direct: 'direct UDP path: KCP repairs its loss',
  'udp-legs': 'relayed over UDP legs: KCP repairs their loss',
  'stream-leg': 'relayed over a TCP/TLS hub leg: that leg is reliable, KCP would only add resends and head-of-line waits',
  'stream-leg-lossy-udp': 'relayed over a TCP/TLS hub leg, but the UDP leg loses packets: KCP repairs them sooner than the inner TCP',
};

export const FEC_REASON_TEXT: Readonly<Record<FecReason, string>> = {
  'pinned-off': 'off (--fec off)',
  'peer-no-fec': 'off (the peer does not speak FEC)',
  relayed: 'off (relayed: a full segment through the hub already fills the underlay MTU)',
  'pinned-on': 'on (--fec on): parity for at least 1 % loss',
  'by-loss': 'parity sized from the measured loss',
};

/** Local tuning. Round-trip loss (%) of the UDP hub probes at which the UDP part of a relayed path
 * with a stream leg is lossy enough for KCP: 2 of the 30 probes lost (1 is noise). Measured
 * (docs/STREAM.md, relayed, 40 ms RTT): with no loss datagrams carry 3-6x KCP's throughput at equal
 * or lower echo latency; at 5 % each way (about 10 % of probes) datagrams still carry 2-3x, but KCP's
 * echo is lower (worst 172 vs 426 ms), and interactive latency comes first in meshd's defaults. */
export const kcpOverStreamLossPct = 6;
/** Local tuning (hysteresis): a pair that took KCP for a lossy UDP leg goes back to datagrams only
 * once the leg's probe loss falls under this (no probe of the last 30 lost), so one probe lost more
 * or less (3.3 %) around the threshold does not flap the channel. */
export const kcpOverStreamLeavePct = 3;

export interface PairTransportInput {
  transport: TransportSetting;
  fec: FecGateSetting;
  /** --kcp-mode: the preset a KCP channel runs (text only: it pins how KCP behaves, not whether). */
  kcpMode?: string | undefined;
  /** The pair's packets go on a direct UDP path now (else through the hub relay). */
  direct: boolean;
  /** Our hub leg (peer/hub-transport.ts). */
  ownLeg: HubLeg;
  /** The remote's hub leg as its PINGs state it (leg-caps.ts); undefined or 'udp' = UDP or unknown. */
  peerLeg?: HubLeg | undefined;
  /** Round-trip loss (%) of our UDP hub-leg probes; undefined = not measured (pinned legs send none). */
  ownUdpLossPct?: number | undefined;
  /** The same figure of the remote, when known (nothing carries it yet). */
  peerUdpLossPct?: number | undefined;
  /** The pair's smoothed RTT (ms), loss on our sends (0..1: fec-pair.ts reading) and what it
   * delivered lately (Mbit/s); undefined before a reading. Shown in the reason; see pairTransport's
   * note for why they do not move the transport on a direct path. */
  rttMs?: number | undefined;
  loss?: number | undefined;
  goodputMbps?: number | undefined;
  /** The remote said it speaks FEC (fec-caps.ts). */
  peerSpeaksFec: boolean;
  /** The decision in force (hysteresis); undefined when the channel is new. */
  current?: PairTransport | undefined;
}

export interface PairTransport {
  transport: ChannelMode;
  reason: TransportReason;
  /** FEC may wrap this pair's sends (fec-stage.ts); the parity shape (k, m, none while clean) is
   * sized by fec-pair.ts decideFec from the loss it reads, with 1 % as a floor under --fec on. */
  fec: boolean;
  fecReason: FecReason;
  /** Small messages of quiet lanes may leave as plain datagrams (interactive-datagram.ts): KCP on a
   * direct path whose loss reading is clean. Absent = false. */
  smallAsDatagrams?: boolean;
  /** One line for `meshd status` and the switch log. */
  why: string;
}

const isStream = (l: HubLeg | undefined): boolean => l === 'tcp' || l === 'tls';

function chooseTransport(i: PairTransportInput): { transport: ChannelMode; reason: TransportReason } {
  if (i.transport !== 'auto') return { transport: i.transport, reason: 'pinned' };
  // Direct: KCP whatever the path measured. KCP's retransmits are the only loss reading a direct
  // pair has (fec-loss.ts; a datagram channel measures nothing), so a switch to datagrams on a clean
  // reading could never see the loss that should bring it back; and KCP holds echo latency under
  // loss (issue 19: worst 152 ms against wireguard-go's 553 at 40 ms, 5 %).
  if (i.direct) return { transport: 'kcp', reason: 'direct' };
  if (!isStream(i.ownLeg) && !isStream(i.peerLeg)) return { transport: 'kcp', reason: 'udp-legs' };
  // A stream leg on the path; its other leg, if UDP, may still lose packets. Only that leg's loss
  // counts (our UDP probes say nothing about a path we do not take while on the stream).
  const udpLoss = !isStream(i.ownLeg) ? i.ownUdpLossPct : !isStream(i.peerLeg) ? i.peerUdpLossPct : undefined;
  const held = i.current?.reason === 'stream-leg-lossy-udp';
  if (udpLoss !== undefined && udpLoss >= (held ? kcpOverStreamLeavePct : kcpOverStreamLossPct)) return { transport: 'kcp', reason: 'stream-leg-lossy-udp' };
  return { transport: 'datagram', reason: 'stream-leg' };
}

function chooseFecGate(i: PairTransportInput): { fec: boolean; fecReason: FecReason } {
  if (i.fec === 'off') return { fec: false, fecReason: 'pinned-off' };
  if (!i.peerSpeaksFec) return { fec: false, fecReason: 'peer-no-fec' };
  if (!i.direct) return { fec: false, fecReason: 'relayed' };
  return { fec: true, fecReason: i.fec === 'on' ? 'pinned-on' : 'by-loss' };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** What the pair measured, for the reason text: "4.5 % loss, 40 ms RTT, 12.0 Mbit/s". */
export function measuredText(i: Pick<PairTransportInput, 'rttMs' | 'loss' | 'goodputMbps'>): string {
  const parts: string[] = [];
  if (i.loss !== undefined) parts.push(`${pct(i.loss)} loss`);
  if (i.rttMs !== undefined) parts.push(`${Math.round(i.rttMs)} ms RTT`);
  if (i.goodputMbps !== undefined) parts.push(`${i.goodputMbps.toFixed(1)} Mbit/s sent`);
  return parts.length === 0 ? 'not measured yet' : parts.join(', ');
}

export function decidePairTransport(i: PairTransportInput): PairTransport {
  const t = chooseTransport(i);
  const f = chooseFecGate(i);
  const kcp = t.transport === 'kcp' && i.kcpMode !== undefined ? ` (${i.kcpMode})` : '';
  const why = `${t.transport}${kcp}: ${TRANSPORT_REASON_TEXT[t.reason]}; FEC ${FEC_REASON_TEXT[f.fecReason]} (${measuredText(i)})`;
  return { ...t, ...f, smallAsDatagrams: cleanForDatagrams(t.transport, i.direct, i.loss), why };
}

/** The decision changed in a way worth a log line (transport or FEC gate; not the figures). */
export function changed(a: PairTransport, b: PairTransport): boolean {
  return a.transport !== b.transport || a.fec !== b.fec;
}
