// 32-bit wrap-around arithmetic for KCP sequence numbers and millisecond timestamps (both u32 on
// the wire). Comparisons use the signed difference, like the reference's _itimediff.

/** Signed distance a - b in u32 space: negative when a is "before" b. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** a + n wrapped to u32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLte(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** Milliseconds (any number, possibly fractional or above 2^32) to the u32 clock KCP carries. */
export function toU32Ms(now: number): number {
  return Math.floor(now) >>> 0;
}
