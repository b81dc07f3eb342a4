// The segments in flight in the order of their last transmission (Linux's tcp_rtx_queue tsorted
// list, RFC 8985 section 6.2's "sorted by transmit time"), for kcp.ts's paced flush: RACK asks
// which segments were sent before a given time, and the answer is a prefix of this list, so a flush
// reads the few segments that may be lost instead of every segment of a 200 ms window (issue 19:
// the whole-window walk was a third of a loaded sender's CPU). Intrusive and allocation-free: the
// links live in the segments themselves (two fields a segment: 16 bytes, ~0.25 MiB a window).

/** What a member carries: its two links (both undefined when it is not listed, or alone). A node
 * belongs to one list at most. */
export interface SendOrderNode<T> {
  sentPrev: T | undefined;
  sentNext: T | undefined;
}

/** A doubly linked list, oldest transmission first. O(1) touch and remove. */
export class SendOrder<T extends SendOrderNode<T>> {
  private head: T | undefined;
  private tail: T | undefined;
  size = 0;

  /** The oldest transmission still listed. */
  first(): T | undefined {
    return this.head;
  }

  /** The member after `node` (sent later), or undefined at the end. */
  next(node: T): T | undefined {
    return node.sentNext;
  }

  /** Whether `node` is listed (a member alone has no links but is the head). */
  has(node: T): boolean {
    return node.sentPrev !== undefined || node.sentNext !== undefined || this.head === node;
  }

  /** `node` was just (re)transmitted: it becomes the newest, listed or not before. */
  touch(node: T): void {
    if (this.tail === node) return;
    if (this.has(node)) this.unlink(node);
    else this.size++;
    node.sentPrev = this.tail;
    node.sentNext = undefined;
    if (this.tail === undefined) this.head = node;
    else this.tail.sentNext = node;
    this.tail = node;
  }

  /** `node` left flight (acked, or dropped); a no-op if it is not listed. */
  remove(node: T): void {
    if (!this.has(node)) return;
    this.unlink(node);
    node.sentPrev = undefined;
    node.sentNext = undefined;
    this.size--;
  }

  private unlink(node: T): void {
    const prev = node.sentPrev;
    const next = node.sentNext;
    if (prev === undefined) this.head = next;
    else prev.sentNext = next;
    if (next === undefined) this.tail = prev;
    else next.sentPrev = prev;
  }
}
