// Which data-channel mode carries one pair's packets (issue 21 item 3): KCP or plain datagrams,
// from the pair's path and the hub legs it rides. The pure decision leg-channel.ts asks once a
// second per pair; tested with a table (test/peer/leg-channel-choice.test.ts); figures in
// docs/STREAM.md "KCP or datagrams on a stream leg".
import type { HubLeg } from './transport-choice.js';

export type ChannelMode = 'kcp' | 'datagram';
/** --transport: auto = this choice, kcp|datagram = pinned for every pair. */
export type TransportSetting = 'auto' | ChannelMode;

export type ChannelModeReason = 'pinned' | 'direct' | 'udp-legs' | 'stream-leg' | 'stream-leg-lossy-udp';

export const CHANNEL_MODE_REASON_TEXT: Readonly<Record<ChannelModeReason, string>> = {
  pinned: 'set by --transport',
  direct: 'direct UDP path: KCP repairs its loss',
  'udp-legs': 'relayed over UDP legs: KCP repairs their loss',
  'stream-leg': 'relayed over a TCP/TLS hub leg: that leg is reliable, KCP would only add resends and head-of-line waits',
  'stream-leg-lossy-udp': 'relayed over a TCP/TLS hub leg, but the UDP leg loses packets: KCP repairs them sooner than the inner TCP',
};

/** Local tuning. Round-trip loss (%) of the UDP hub probes at which the UDP part of a relayed path
 * with a stream leg is lossy enough for KCP: 2 of the 30 probes lost (1 is noise). Measured
 * (docs/STREAM.md, relayed, 40 ms RTT): with no loss datagrams carry 3-6x KCP's throughput at equal
 * or lower echo latency; at 5 % each way (about 10 % of probes) datagrams still carry 2-3x, but KCP's
 * echo is lower (worst 172 vs 426 ms), and interactive latency comes first in meshd's defaults. */
export const kcpOverStreamLossPct = 6;

export interface ChannelModeInput {
  setting: TransportSetting;
  /** The pair's packets go on a direct UDP path now (else through the hub relay). */
  direct: boolean;
  /** Our hub leg (peer/hub-transport.ts). */
  ownLeg: HubLeg;
  /** The remote's hub leg, when known; undefined = unknown (the map does not carry it yet). */
  peerLeg?: HubLeg | undefined;
  /** Round-trip loss (%) of our UDP hub-leg probes; undefined = not measured (pinned legs send none). */
  ownUdpLossPct?: number | undefined;
  /** The same figure of the remote, when known; undefined = unknown. */
  peerUdpLossPct?: number | undefined;
}

export interface ChannelModeChoice {
  mode: ChannelMode;
  reason: ChannelModeReason;
}

const isStream = (l: HubLeg | undefined): boolean => l === 'tcp' || l === 'tls';

export function chooseChannelMode(i: ChannelModeInput): ChannelModeChoice {
  if (i.setting !== 'auto') return { mode: i.setting, reason: 'pinned' };
  if (i.direct) return { mode: 'kcp', reason: 'direct' };
  if (!isStream(i.ownLeg) && !isStream(i.peerLeg)) return { mode: 'kcp', reason: 'udp-legs' };
  // A stream leg on the path; its other leg, if UDP, may still lose packets. Only that leg's loss counts
  // (our UDP probes say nothing about a path we do not take while on the stream).
  const udpLoss = !isStream(i.ownLeg) ? i.ownUdpLossPct : !isStream(i.peerLeg) ? i.peerUdpLossPct : undefined;
  if (udpLoss !== undefined && udpLoss >= kcpOverStreamLossPct) return { mode: 'kcp', reason: 'stream-leg-lossy-udp' };
  return { mode: 'datagram', reason: 'stream-leg' };
}
