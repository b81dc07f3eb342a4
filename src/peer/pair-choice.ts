// Which transport and FEC a peer pair should use, from what its path measured (issue 19 item 5):
// datagram on a clean path (no ARQ bytes, no KCP CPU; the inner TCP repairs the rare loss), KCP
// with FEC sized by fec/policy.ts once the path loses (KCP holds interactive latency under loss:
// issue 19's echo worst case 3.6x better than wireguard-go's). --transport and --fec pin their part.
// Pure; fec-pair.ts applies the FEC part per pair today, and `meshd status` shows the whole choice
// (the transport part is advisory until a channel can switch transport live: docs/ARQ.md).
import { chooseFec, type FecParams } from '../fec/policy.js';
import type { FecSetting } from './fec-pair.js';

/** Below this loss a path counts as clean for the transport choice (the FEC policy's own off point). */
export const cleanLoss = 0.001;

export interface PairPath {
  readonly rttMs: number | undefined;
  /** Loss on our sends, 0..1, undefined before a reading. */
  readonly loss: number | undefined;
  /** What the pair delivered lately (Mbit/s), for the reason text. */
  readonly goodputMbps: number | undefined;
}

export interface PairSettings {
  readonly transport: 'auto' | 'kcp' | 'datagram';
  readonly fec: FecSetting;
}

export interface PairChoice {
  readonly transport: 'kcp' | 'datagram';
  readonly fec: FecParams;
  readonly why: string;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

export function choosePair(path: PairPath, set: PairSettings, current: FecParams = { k: 10, m: 0 }): PairChoice {
  const measured = path.loss === undefined ? 'no loss reading yet' : `${pct(path.loss)} loss`;
  const rtt = path.rttMs === undefined ? '' : `, ${Math.round(path.rttMs)} ms RTT`;
  const seen = `${measured}${rtt}${path.goodputMbps === undefined ? '' : `, ${path.goodputMbps.toFixed(1)} Mbit/s`}`;
  let transport: 'kcp' | 'datagram';
  let why: string;
  if (set.transport !== 'auto') {
    transport = set.transport;
    why = `${transport} (--transport)`;
  } else if (path.loss === undefined) {
    transport = 'kcp';
    why = 'kcp until the path is measured';
  } else if (path.loss < cleanLoss) {
    transport = 'datagram';
    why = 'datagram: a clean path needs no repair';
  } else {
    transport = 'kcp';
    why = 'kcp: the path loses, KCP repairs within an RTT';
  }
  let fec: FecParams = { k: current.k, m: 0 };
  if (set.fec === 'off') why += ', FEC off (--fec off)';
  else {
    const loss = set.fec === 'on' ? Math.max(path.loss ?? 0, 0.01) : (path.loss ?? 0);
    fec = chooseFec({ loss, burst: 1 }, current);
    why += fec.m > 0 ? `, FEC ${fec.k}+${fec.m}${set.fec === 'on' ? ' (--fec on)' : ''}` : ', no FEC';
  }
  return { transport, fec, why: `${why} (${seen})` };
}
