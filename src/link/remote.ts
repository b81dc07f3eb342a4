// The records the link's parts share (link.ts): what the link knows about one remote (RemoteNode, the
// public part; Remote, the whole record), our handshake in flight, the options, the drop reasons, and
// LinkContext: the slice of the Link that initiator.ts and responder.ts use.
import type { Keypairs } from '../crypto/keypairs.js';
import type { StaticKeyPair } from '../crypto/keys.js';
import type { PendingInitiation } from '../crypto/handshake.js';
import type { TransportSession } from '../crypto/session.js';
import type { CryptoBackends } from '../crypto/backends.js';
import type { UdpSocket } from '../net/udp.js';
import type { Clock, TimerHandle, WallClock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Path } from './path.js';
import type { RemoteTable } from './remote-table.js';

/** What the link knows about one remote node; `path` follows its latest authenticated packet. */
export interface RemoteNode {
  readonly publicKey: Uint8Array;
  /** Hex of the public key: the map key. */
  readonly id: string;
  path: Path | undefined;
  lastReceivedMs: number;
  /** Monotonic time the current session was made, or -Infinity. */
  sessionSinceMs: number;
  /** Where our last handshake message went, once the remote proved it received it there (its
   * first packet on the keys our response made, or its response to our initiation): an endpoint
   * the remote is known to receive at (the hub's anti-amplification guard trusts it). */
  provenPath?: Path;
  /** The remote's datagrams we accepted, over all its sessions (absent before the first). */
  rx?: RxCounts;
}

/** Counters of the remote's authenticated datagrams (issue 19 item 7, peer/interactive-datagram.ts):
 * skipped counts the counters each one jumped past (lost, or not yet arrived), late the ones that
 * then arrived below the highest; skipped - late is what never arrived (on one path, its loss). */
export interface RxCounts {
  received: number;
  skipped: number;
  late: number;
}

/** Our handshake with one remote, from the first initiation to the response or the give-up. */
export interface HandshakeState {
  startedMs: number;
  attempts: number;
  /** A rekey while the current session still works: no hurry, retried at REKEY_TIMEOUT. */
  rekey: boolean;
  path: Path;
  pending?: PendingInitiation;
  /** A cookie reply was taken for `pending` (one per initiation, as WireGuard). */
  cookieTaken?: boolean;
  timer?: TimerHandle;
}

/** The whole record of one remote: the sessions, our handshake, the packets waiting for it. */
export interface Remote extends RemoteNode {
  keypairs: Keypairs;
  /** When we first sent on the current session after the remote last spoke (WireGuard's timer). */
  awaitingReplySinceMs?: number;
  handshake?: HandshakeState;
  queue: Uint8Array[];
  sendPath?: Path;
  /** The remote's latest cookie (it was under load): mac2 on our initiations until it expires. */
  cookie?: { value: Uint8Array; receivedMs: number };
  /** DH(our static, its static) for our initiations, made on the first one (handshake.ts). */
  staticShared?: Uint8Array;
  /** When we last sealed a packet for the remote (decides whether a rekey starts on time). */
  lastSentMs: number;
  /** Initiator: fires when the current session is due for its rekey (constants.ts rekeyInUseWithinMs). */
  rekeyTimer?: TimerHandle;
}

export type DropReason =
  | 'malformed'
  | 'bad_mac1'
  | 'rate_limited'
  | 'handshake_failed'
  | 'not_allowed'
  | 'unknown_index'
  | 'auth_failed'
  | 'no_path'
  | 'queue_full'
  | 'gave_up'
  | 'hub_key'
  | 'handler_error'
  /** Under load: an initiation without a valid mac2, answered with a COOKIE_REPLY, no DH. */
  | 'cookie_sent'
  /** A COOKIE_REPLY for our pending initiation that does not authenticate, or a second one. */
  | 'bad_cookie'
  /** An initiation waiting for its DH replaced by a newer one from the same source (a retry). */
  | 'superseded'
  /** An initiation refused because the DH backlog was full (answered with a COOKIE_REPLY: back off). */
  | 'backlog_full'
  /** HUB_KEY_REQ whose timestamp is outside HUB_KEY_MAX_CLOCK_SKEW_MS of our wall clock. */
  | 'hub_key_stale'
  /** HUB_KEY_REQ already answered (a captured copy sent again). */
  | 'hub_key_replayed';

export interface LinkOptions {
  udp: UdpSocket;
  keyPair: StaticKeyPair;
  psk: Uint8Array;
  clock: Clock;
  wallClock: WallClock;
  log: Logger;
  /** Responder allow-list: the hub's --allow-keys-file, a peer's hub and map; absent = anyone with
   * the network secret. A refused initiator leaves no state (handshake.ts, responder.ts `refuse`). */
  allowedKeys?: (publicKey: Uint8Array) => boolean;
  /**
   * What a refused initiator is told: a plaintext sealed on a one-off session and sent after the
   * handshake response (the hub: REGISTER_REFUSED KEY_NOT_ALLOWED), then forgotten. Absent: no answer.
   */
  refusal?: (publicKey: Uint8Array) => Uint8Array | undefined;
  /**
   * Which remotes belong here (the hub: registered members; a peer: its hub and the keys in its
   * map). Others ("strangers": a key that handshook and never registered) are forgotten
   * strangerGraceMs after they appeared, and at most maxStrangers are kept (oldest forgotten first).
   * Absent: every remote is kept until forget().
   */
  retain?: (id: string) => boolean;
  /** Hub only: answer HUB_KEY_REQ with our static key. */
  answerHubKey?: boolean;
  /** Peer only: carries a datagram to `overlay` through the hub (RELAY_TO). */
  relay?: (overlay: number, datagram: Uint8Array) => void;
  /**
   * Peer only, beside `relay`: sends a whole RELAY_TO plaintext (wire/inner.ts) to the hub. With
   * it, send() seals TRANSPORT for a relay path straight into a fresh RELAY_TO frame, after its
   * header, so the sealed datagram is not copied again (issue 19 item 6); the frame is the
   * callee's. Handshake messages and the rest still go through `relay`.
   */
  relayFrame?: (frame: Uint8Array) => void;
  /**
   * Peers: start a new handshake when a remote we send to has said nothing for this long
   * (constants.ts newHandshakeAfterSilenceMs). The hub leaves it unset: its members speak every
   * heartbeat, and it must not answer a quiet member with handshakes.
   */
  rehandshakeAfterSilenceMs?: number;
  /** Random u32 for session indices and rekey jitter (tests inject a seeded one). */
  randomU32?: () => number;
  /** Overrides the "under load" rule (constants.ts underLoadInitiationsPerSec/Burst); tests shrink it. */
  underLoad?: { initiationsPerSec: number; burst: number };
  /** Random bytes for the cookie secret and reply nonces (tests inject a seeded source). */
  randomBytes?: (n: number) => Uint8Array;
  /**
   * TRANSPORT is decrypted in place (session.ts openInPlace): the plaintext handed to onInner is a
   * view of the received datagram, valid only until the handler returns (the native socket reuses
   * its receive slots for the next batch). The peer sets it and copies what it keeps; absent, each
   * plaintext is a fresh buffer.
   */
  openInPlace?: boolean;
  /** The Noise and AEAD implementations of every handshake and session (crypto/backends.ts);
   * absent: crypto/native.ts runtimeCrypto(), the addon where it loads. */
  crypto?: CryptoBackends;
}

export type LinkDrops = Record<DropReason, number>;

export interface LinkStats {
  sent: number;
  received: number;
  handshakesInitiated: number;
  handshakesCompleted: number;
  cookiesReceived: number;
  refusalsSent: number;
  strangersEvicted: number;
}

/** What our handshakes (initiator.ts) and theirs (responder.ts) use of the Link around them. */
export interface LinkContext {
  readonly opts: LinkOptions;
  readonly crypto: CryptoBackends;
  readonly log: Logger;
  readonly table: RemoteTable;
  readonly drops: LinkDrops;
  readonly stats: LinkStats;
  readonly randomU32: () => number;
  readonly closed: boolean;
  /** Counts a drop (and says it at debug). */
  drop(reason: DropReason, r?: Remote): void;
  /** Puts an outer datagram on the path (UDP, or the hub's relay). */
  transmit(datagram: Uint8Array, to: Path): void;
  /** A new session with `r` is usable: flush its queue and tell the owner. */
  sessionUp(r: Remote, s: TransportSession): void;
}
