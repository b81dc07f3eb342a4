// Which leg carries this peer's hub session (issue 21): the pure decision peer/hub-transport.ts
// calls once a second with what its probes saw. Tested with a table (test/peer/transport-choice.test.ts).
import type { HubTransportSetting } from '../config/schema.js';

export type HubLeg = 'udp' | 'tcp' | 'tls';

export type ChoiceReason =
  | 'pinned'
  | 'udp-ok'
  | 'udp-silent'
  | 'udp-lossy'
  | 'udp-recovered'
  | 'stream-down'
  | 'dwell';

export const CHOICE_REASON_TEXT: Readonly<Record<ChoiceReason, string>> = {
  pinned: 'set by --hub-transport',
  'udp-ok': 'the hub answers over UDP',
  'udp-silent': 'the hub did not answer over UDP',
  'udp-lossy': 'UDP to the hub loses far more than the stream',
  'udp-recovered': 'UDP to the hub works again',
  'stream-down': 'the stream to the hub is down and UDP answers',
  dwell: 'staying a while after the last switch',
};

/** Local tuning. 5 s without any answer over UDP: five probes (one a second while unsure) all
 * unanswered, a chance of 0.3^5 = 0.2 % on a working path that loses 30 %, and short of the 4 s +
 * jitter first heartbeat deadline times two, so a blocked peer registers within ~10 s. */
export const udpSilentSwitchMs = 5_000;
/** UDP silent this long: open the stream already (unused, it is closed again), so it is up by udpSilentSwitchMs. */
export const streamPrepareMs = 2_000;
/** Loss (%) over the last lossWindow UDP probes that moves the session when the stream does better
 * by lossMarginPct. 25 % of 30: a path losing 10 % round trip (5 % each way, the e2e loss tests)
 * crosses it by chance in well under 1 % of windows; one losing 30 % crosses it in most. */
export const udpLossSwitchPct = 25;
export const lossMarginPct = 15;
/** Probes a loss figure is taken over: 30 s to 60 s of probes (one every 1 or 2 s). */
export const lossWindow = 30;
/** Back to UDP after a silence: the last recoverWindow probes answered, after dwellSilentMs on the stream. */
export const recoverWindow = 5;
export const dwellSilentMs = 10_000;
/** Back to UDP after loss: at most 2 lost of the last lossWindow, after dwellLossyMs (hysteresis:
 * out at 25 %, back at 7 %, so a 30 %-loss path does not flap). */
export const recoverLossyMaxLost = 2;
export const dwellLossyMs = 60_000;

export interface ChoiceInput {
  setting: HubTransportSetting;
  current: HubLeg;
  /** Why we are on the current leg (the reason of the last switch). */
  currentReason: ChoiceReason;
  /** The kind of stream auto mode would use now (tcp, or tls once tcp failed). */
  streamKind: 'tcp' | 'tls';
  streamUp: boolean;
  /** Outcomes of resolved probes, oldest first, true = answered (the caller keeps lossWindow). */
  udpProbes: readonly boolean[];
  streamProbes: readonly boolean[];
  /** Since the hub last answered over UDP, or since probing began if it never did. */
  udpSilentMs: number;
  sinceSwitchMs: number;
}

export interface Choice {
  leg: HubLeg;
  reason: ChoiceReason;
  /** Keep (or open) a stream connection: to use it, or to measure it before moving. */
  wantStream: boolean;
}

function lost(outcomes: readonly boolean[], last = outcomes.length): number {
  let n = 0;
  for (let i = Math.max(0, outcomes.length - last); i < outcomes.length; i++) if (!outcomes[i]) n++;
  return n;
}

export function lossPct(outcomes: readonly boolean[]): number | undefined {
  return outcomes.length === 0 ? undefined : (100 * lost(outcomes)) / outcomes.length;
}

export function chooseHubLeg(i: ChoiceInput): Choice {
  if (i.setting !== 'auto') return { leg: i.setting, reason: 'pinned', wantStream: i.setting !== 'udp' };
  const udpLoss = i.udpProbes.length >= lossWindow ? lossPct(i.udpProbes.slice(-lossWindow))! : undefined;
  const streamLoss = i.streamProbes.length >= recoverWindow ? lossPct(i.streamProbes.slice(-lossWindow))! : undefined;
  const stay = (reason: ChoiceReason, wantStream: boolean): Choice => ({ leg: i.current, reason, wantStream });
  if (i.current === 'udp') {
    if (i.udpSilentMs >= udpSilentSwitchMs) return i.streamUp ? { leg: i.streamKind, reason: 'udp-silent', wantStream: true } : stay(i.currentReason, true);
    if (udpLoss !== undefined && udpLoss >= udpLossSwitchPct) {
      // Measure the stream before moving: a path that drops UDP may be as bad for TCP.
      if (i.streamUp && streamLoss !== undefined && streamLoss + lossMarginPct <= udpLoss) return { leg: i.streamKind, reason: 'udp-lossy', wantStream: true };
      return stay(i.currentReason, true);
    }
    return stay(i.currentReason === 'pinned' ? 'udp-ok' : i.currentReason, i.udpSilentMs >= streamPrepareMs);
  }
  const udpAnswers = i.udpSilentMs < udpSilentSwitchMs;
  if (!i.streamUp) return udpAnswers ? { leg: 'udp', reason: 'stream-down', wantStream: false } : stay(i.currentReason, true);
  if (i.currentReason === 'udp-lossy') {
    const ok = i.udpProbes.length >= lossWindow && lost(i.udpProbes, lossWindow) <= recoverLossyMaxLost;
    if (ok && i.sinceSwitchMs >= dwellLossyMs) return { leg: 'udp', reason: 'udp-recovered', wantStream: true };
    return stay(i.currentReason, true);
  }
  const ok = i.udpProbes.length >= recoverWindow && lost(i.udpProbes, recoverWindow) === 0 && udpAnswers;
  if (ok && i.sinceSwitchMs >= dwellSilentMs) return { leg: 'udp', reason: 'udp-recovered', wantStream: true };
  return stay(i.currentReason, true);
}
