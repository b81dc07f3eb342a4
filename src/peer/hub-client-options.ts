// What the peer's hub client (peer/hub-client.ts) is given and the states it goes through. Types
// only; node.ts builds the options, peer/hub-set.ts sets the several-hubs ones.
import type { Link } from '../link/link.js';
import type { Endpoint } from '../net/udp.js';
import type { Clock, WallClock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { NatClass } from '../wire/nat-class.js';
import type { PeerMap } from './peer-map.js';

export type HubClientState = 'learning-key' | 'registering' | 'registered' | 'refused' | 'stopped';

export interface HubClientOptions {
  link: Link;
  clock: Clock;
  /** Stamps HUB_KEY_REQ (the hub refuses stale ones); default Date.now. */
  wallClock?: WallClock;
  log: Logger;
  hub: Endpoint;
  psk: Uint8Array;
  /** Random numbers in [0, 1) for the heartbeat deadline's and the refusal retry's jitter and the
   * reliable sender's first sequence number (default Math.random; seeded in tests, so a run on the
   * virtual internet replays the same packets through the same loss draws). */
  random?: () => number;
  /** Pinned hub key (--hub-key or hub.pub); absent = learn it with HUB_KEY_REQ. */
  hubKey?: Uint8Array;
  onHubKeyLearned?: (key: Uint8Array) => void;
  /** 0 = ask the hub to assign one (prefix 0 then). */
  overlay: number;
  prefix: number;
  /** Overlay IPv6 (REGISTER flag 0x10): the address asked for, "::" = assign me one; absent = none. */
  overlay6?: string;
  prefix6?: number;
  name: string;
  /** `name` is the host name, not --name: the hub may number it (host-2...). */
  nameIsHint?: boolean;
  /** More REGISTER flag bits (REGISTER_FLAG_ROUTES; node.ts: REGISTER_FLAG_ACL). */
  registerFlags?: number;
  /** Capability bits for REGISTER's CAPS ext (REGISTER_CAP_*; node.ts: REGISTER_CAP_ACL_DELTA). */
  registerCaps?: number;
  /** REGISTER carries ext RELAY_BUDGET: the hub tells its relay budget (node.ts: peer/relay-budget.ts). */
  relayBudget?: boolean;
  lan: () => Endpoint[];
  bootId: bigint;
  map: PeerMap;
  /** This node's NAT class once classified (REGISTER flag NAT_INFO, HEARTBEAT trailing field). */
  natClass?: () => NatClass | undefined;
  /** Several hubs (peer/hub-set.ts): start() only waits; the hub set picks the hub (retarget). */
  managed?: boolean;
  /** HUB_KEY_RESP datagrams this client did not ask for (the hub set's); true = used. */
  otherHubKeyResponse?: (datagram: Uint8Array, from: Endpoint) => boolean;
}
