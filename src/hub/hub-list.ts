// Several hubs (issue 24): after REGISTER_OK a peer that set REGISTER flag 0x80 gets HUB_LIST, the
// static keys of the live hubs of the network (wire/hub-list.ts), so it can trust a hub of its
// --hub list it has no key for once that hub proves one of them (peer/hub-set.ts). Sent reliably
// over the member's authenticated session; nothing on a single hub. hub.ts calls it.
import { HUB_LIST_MAX_KEYS, REGISTER_FLAG_HUB_LIST, encodeHubList } from '../wire/hub-list.js';
import type { MemberSender } from './member-sender.js';
import type { NetworkState } from './network-state.js';
import type { Member } from './registry.js';

export function sendHubList(sender: MemberSender, state: NetworkState, m: Member, flags: number): void {
  if ((flags & REGISTER_FLAG_HUB_LIST) === 0 || !state.hubKeys) return;
  const keys = state.hubKeys().slice(0, HUB_LIST_MAX_KEYS);
  sender.sendReliableBody(m, (seq) => encodeHubList({ seq, keys }), () => undefined);
}
