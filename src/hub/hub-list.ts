// Several hubs (issue 24): after REGISTER_OK a peer that set REGISTER flag 0x80 gets HUB_LIST, the
// static keys of the live hubs of the network (wire/hub-list.ts), so it can trust a hub of its
// --hub list it has no key for once that hub proves one of them (peer/hub-set.ts). Sent reliably
// over the member's authenticated session, and again to every such member when the set of hubs
// changes (a hub started or back later); nothing on a single hub. hub.ts builds it.
import type { Clock, TimerHandle } from '../util/clock.js';
import { HUB_LIST_MAX_KEYS, REGISTER_FLAG_HUB_LIST, encodeHubList } from '../wire/hub-list.js';
import type { MemberSender } from './member-sender.js';
import type { NetworkState } from './network-state.js';
import type { Member } from './registry.js';

/** Local tuning: how often the set of hubs is compared with the one last sent. */
export const hubListCheckMs = 5_000;

export class HubListSender {
  private readonly subscribers = new Map<string, Member>();
  private lastSent = '';
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(private readonly o: { sender: MemberSender; state: NetworkState; clock: Clock }) {}

  /** A member registered with these REGISTER flags. */
  registered(m: Member, flags: number): void {
    if ((flags & REGISTER_FLAG_HUB_LIST) === 0 || !this.o.state.hubKeys || this.closed) return;
    this.subscribers.set(m.id, m);
    this.send(m, this.keys());
    this.timer ??= this.o.clock.setTimer(hubListCheckMs, () => this.check());
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
  }

  private keys(): Uint8Array[] {
    const keys = (this.o.state.hubKeys?.() ?? []).slice(0, HUB_LIST_MAX_KEYS);
    this.lastSent = keys.map((k) => Buffer.from(k).toString('base64')).sort().join(',');
    return keys;
  }

  private check(): void {
    if (this.closed) return;
    const before = this.lastSent;
    const keys = this.keys();
    for (const [id, m] of this.subscribers) {
      // Gone, or registered again (a new record): only current members, and only on a change.
      if (this.o.state.members.get(id) !== m) this.subscribers.delete(id);
      else if (this.lastSent !== before) this.send(m, keys);
    }
    this.timer = this.o.clock.setTimer(hubListCheckMs, () => this.check());
  }

  private send(m: Member, keys: Uint8Array[]): void {
    this.o.sender.sendReliableBody(m, (seq) => encodeHubList({ seq, keys }), () => undefined);
  }
}
