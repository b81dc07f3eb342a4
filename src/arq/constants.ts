// KCP constants: protocol values both ends must agree on, local tuning defaults taken from the
// reference (skywind3000/kcp ikcp.c; docs/ARQ.md), and the kcptun presets users know.
// Used by segment.ts, rtt.ts and kcp.ts; callers pick a preset with Kcp.usePreset() or pass presets.x to setNodelay.

// ---- Protocol: both ends must agree -------------------------------------------------------------

/** Segment header size in bytes; fixed by the wire format (IKCP_OVERHEAD). */
export const KCP_OVERHEAD_BYTES = 24;

/** Segment commands (the cmd byte). Values are the reference's, so a reference peer understands them. */
export enum KcpCmd {
  /** Data. */
  Push = 81,
  /** Selective ack of one sn, echoing the PUSH's ts. */
  Ack = 82,
  /** Window probe: "tell me your window". */
  Wask = 83,
  /** Window tell: carries nothing beyond the wnd field. */
  Wins = 84,
}

/** cmd byte -> name, for logs and tests. */
export const kcpCmdName: Readonly<Record<KcpCmd, string>> = {
  [KcpCmd.Push]: 'PUSH',
  [KcpCmd.Ack]: 'ACK',
  [KcpCmd.Wask]: 'WASK',
  [KcpCmd.Wins]: 'WINS',
};

/** Receive window floor in segments: a message may have up to 127 fragments and must fit (IKCP_WND_RCV). */
export const KCP_RCV_WND_MIN_SEGS = 128;
/** send() rejects a message needing this many fragments or more: frg counts down from count-1 in a u8 and the peer's window floor is 128. */
export const KCP_MAX_FRAGMENTS = 128;

// ---- Probe flags (local bit set, IKCP_ASK_*) ----------------------------------------------------

/** We must send a WASK on the next flush. */
export const KCP_ASK_SEND = 1;
/** We must send a WINS on the next flush. */
export const KCP_ASK_TELL = 2;

// ---- Local tuning: each side chooses its own ----------------------------------------------------

/** Default MTU: leaves room for IP/UDP headers and meshd's own framing below a 1500-byte link. */
export const KCP_MTU_DEFAULT_BYTES = 1400;
/** setMtu() rejects anything below this: header plus a useful payload (ikcp_setmtu). */
export const KCP_MTU_MIN_BYTES = 50;
/** Default send window in segments (IKCP_WND_SND). */
export const KCP_SND_WND_DEFAULT_SEGS = 32;
/** Default receive window in segments (IKCP_WND_RCV). */
export const KCP_RCV_WND_DEFAULT_SEGS = 128;
/** Assumed remote window before the peer has told us anything. */
export const KCP_RMT_WND_DEFAULT_SEGS = 128;
/** Initial RTO before any RTT sample (IKCP_RTO_DEF). */
export const KCP_RTO_DEFAULT_MS = 200;
/** Minimum RTO in normal mode, like TCP's conservative floor (IKCP_RTO_MIN). */
export const KCP_RTO_MIN_MS = 100;
/** Minimum RTO once nodelay is enabled (IKCP_RTO_NDL). */
export const KCP_RTO_NODELAY_MIN_MS = 30;
/** RTO ceiling: a minute without an ack means the path is gone anyway (IKCP_RTO_MAX). */
export const KCP_RTO_MAX_MS = 60_000;
/** Default flush interval (IKCP_INTERVAL). */
export const KCP_INTERVAL_DEFAULT_MS = 100;
/** Interval clamp, low end: finer ticks cost CPU for no latency gain (ikcp_interval). */
export const KCP_INTERVAL_MIN_MS = 10;
/** Interval clamp, high end (ikcp_interval). */
export const KCP_INTERVAL_MAX_MS = 5000;
/** Initial slow-start threshold in segments (IKCP_THRESH_INIT). */
export const KCP_SSTHRESH_INIT_SEGS = 2;
/** ssthresh never drops below this (IKCP_THRESH_MIN). */
export const KCP_SSTHRESH_MIN_SEGS = 2;
/** First zero-window probe delay, classic value (IKCP_PROBE_INIT; 2026 HEAD uses 5000). */
export const KCP_PROBE_INIT_MS = 7000;
/** Zero-window probe delay ceiling (IKCP_PROBE_LIMIT). */
export const KCP_PROBE_LIMIT_MS = 120_000;
/** Transmissions of one segment after which state becomes -1 (IKCP_DEADLINK). */
export const KCP_DEAD_LINK_XMIT = 20;
/** Fast retransmits stop once a segment was sent this many times (IKCP_FASTACK_LIMIT). */
export const KCP_FAST_LIMIT_XMIT = 5;
/** update() resynchronises ts_flush if the clock jumps by more than this. */
export const KCP_CLOCK_JUMP_MS = 10_000;
/**
 * Local tuning: spare segments a Kcp keeps for reuse once it holds no data. Enough to recycle a
 * flush's worth without allocating; not a window's worth, which with meshd's 4096-segment span (and
 * a Kcp per lane) kept tens of MB per peer resident after one burst. While data is held the pool may
 * keep more: what the transfer allocated (kcp.ts poolCap).
 */
export const KCP_POOL_MAX_SEGS = 256;
/**
 * Local tuning: spare placeholders (unordered delivery's marks, no payload, ~0.1 KB each) a Kcp
 * keeps. A repair releases thousands at once and the next RTT needs as many again; 8192 is ~1 MB.
 */
export const KCP_MARK_POOL_MAX_SEGS = 8192;
/**
 * Local tuning: segment buffers are carved this many at a time from one ArrayBuffer (kcp.ts
 * acquire), not one each. A buffer of its own costs a JS ArrayBuffer, a backing store record and a
 * malloc chunk header beside its ~1.3 KB: ~0.25 KB more per segment, ~3.5 MB over the 14,000
 * segments a 200 ms, 500 Mbit/s sender holds (issue 19 item 7). 32 x 1.3 KB stays under glibc's
 * mmap threshold, so a chunk is one heap allocation.
 */
export const KCP_SEG_CHUNK = 32;

// ---- Presets -------------------------------------------------------------------------------------

/** Arguments of setNodelay(nodelay, interval, resend, nc), named as in ikcp_nodelay. */
export interface KcpPreset {
  /** 0 normal, 1 faster RTO growth (x1.5) and 30 ms min RTO, 2 linear RTO growth. */
  nodelay: 0 | 1 | 2;
  /** Flush interval in ms (10..5000). */
  interval: number;
  /** Fast-retransmit after this many later acks; 0 disables. */
  resend: number;
  /** 1 disables the congestion window (only snd_wnd and rmt_wnd limit). */
  nc: 0 | 1;
  /**
   * meshd's addition (Kcp.setRateControl, rate-control.ts): pace sends at the measured delivery
   * rate and cap bytes in flight at ~2 BDP, replacing cwnd/nc. Absent = off (ikcp behaviour).
   */
  rateControl?: boolean;
}

/**
 * The reference's defaults plus kcptun's presets (docs/ARQ.md; kcptun's normal/fast/fast2/fast3). meshd's data plane
 * uses normal..fast3 with rate control on: with nc = 1 alone, KCP sends whole windows into the
 * bottleneck queue and collapses on long lossy paths (docs/ARQ.md "Rate control").
 */
export const presets = {
  /** ikcp_create defaults: TCP-like, and byte-identical to ikcp.c (no rate control). */
  default: { nodelay: 0, interval: 100, resend: 0, nc: 0 },
  normal: { nodelay: 0, interval: 40, resend: 2, nc: 1, rateControl: true },
  /** kcptun's default. */
  fast: { nodelay: 0, interval: 30, resend: 2, nc: 1, rateControl: true },
  fast2: { nodelay: 1, interval: 20, resend: 2, nc: 1, rateControl: true },
  fast3: { nodelay: 1, interval: 10, resend: 2, nc: 1, rateControl: true },
} as const satisfies Record<string, KcpPreset>;
export type KcpPresetName = keyof typeof presets;
