// The delay bridge's counters over one measurement window (bench/vpn/run.mjs). The bridge prints one
// JSON line a second (bench/delay/delay-bridge.c); a window is the difference between the last line
// before it and the first line after it, both directions added. A valid run has lost == 0: the
// emulator dropped nothing of its own (queue full, socket overrun, oversized frame, send error).

/** The bridge's latest counters (null without a bridge). */
export function bridgeSnapshot(bridge) {
  return bridge ? { line: bridge.last, index: bridge.trimmed + bridge.stats.length } : null;
}

/** Waits (at most 2.5 s) for the bridge's next once-a-second stats line. */
async function nextLine(bridge) {
  const n = bridge.stats.length;
  for (let i = 0; i < 25 && bridge.stats.length === n; i++) await new Promise((r) => setTimeout(r, 100));
}

const keys = ['frames', 'drops', 'sockDrops', 'trunc', 'sendErrors', 'late1ms', 'sent', 'lateSumUs'];

/** Counters since snapshot s0 (taken wallS seconds ago): totals over both directions and the CPU share. */
export async function bridgeDelta(bridge, s0, wallS) {
  if (!bridge || !s0?.line) return null;
  await nextLine(bridge);
  const a = s0.line;
  const b = bridge.last;
  const sum = {};
  for (const k of keys) sum[k] = b.d0[k] - a.d0[k] + (b.d1[k] - a.d1[k]);
  const window = bridge.stats.slice(Math.max(0, s0.index - bridge.trimmed));
  const lateMaxUs = Math.max(0, ...window.map((x) => Math.max(x.d0.lateMaxUs, x.d1.lateMaxUs)));
  const dt = b.t - a.t;
  return {
    frames: sum.frames,
    lost: sum.drops + sum.sockDrops + sum.trunc + sum.sendErrors,
    drops: sum.drops,
    sockDrops: sum.sockDrops,
    trunc: sum.trunc,
    sendErrors: sum.sendErrors,
    late1ms: sum.late1ms,
    lateMeanUs: sum.sent > 0 ? sum.lateSumUs / sum.sent : null,
    lateMaxUs,
    cpuS: b.cpuS - a.cpuS,
    cpuShare: dt > 0 ? (b.cpuS - a.cpuS) / dt : null,
    seconds: dt,
    wallS,
  };
}
