// A refused registration as the peer's hub client sees it (peer/hub-client.ts): the named error,
// when to register again (backoff with jitter) and how loud to log it. Pure; no timers, no I/O.
import { MeshdError } from '../util/errors.js';
import { RefusalReason, refusalReasonName } from '../wire/control.js';

/** The hub refused registration; `code` is HUB_REFUSED_<REASON> (e.g. HUB_REFUSED_ADDRESS_IN_USE). */
export class HubRefusedError extends MeshdError {
  constructor(
    readonly reason: RefusalReason,
    text: string,
  ) {
    super(`HUB_REFUSED_${refusalReasonName[reason]}`, `hub refused registration: ${text}`);
  }
}

/** Local tuning: after a refusal the REGISTER is tried again after 1 s, doubling to 60 s, plus up to
 * 25 % at random: the daemon never sits unregistered (issue 17 H1: no zombie), and an operator who
 * frees the address or name (`meshd hub release`) sees the peer join within a minute. */
export const refusalFirstRetryMs = 1_000;
export const refusalMaxRetryMs = 60_000;
export const refusalRetryJitter = 0.25;

/** How long to wait before registering again after `refusals` consecutive refusals (pure). */
export function refusalRetryMs(refusals: number, random: number): number {
  const base = Math.min(refusalFirstRetryMs * 2 ** Math.max(0, refusals - 1), refusalMaxRetryMs);
  return Math.round(base * (1 + refusalRetryJitter * random));
}

/** How loud a refusal is (pure): a name someone else holds, asked for explicitly, is a wait for an
 * operator who may free it (warn); anything else (an address bound to another key, a key the hub
 * does not admit, a bad request) means this peer's configuration or the hub's needs a person (error);
 * a hub cut from its cluster's shared state passes (warn). */
export function refusalLogLevel(reason: RefusalReason, nameIsHint: boolean): 'warn' | 'error' {
  if (reason === RefusalReason.UNAVAILABLE) return 'warn';
  return reason === RefusalReason.NAME_TAKEN && !nameIsHint ? 'warn' : 'error';
}
