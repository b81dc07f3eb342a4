// Types of worker-replies.mjs (the load tools' waiting for worker messages), for test/bench/worker-replies.test.ts.
export interface WorkerLike {
  send(msg: unknown): unknown;
}
export interface WorkerReplies<W = WorkerLike, M = { type: string; [k: string]: unknown }> {
  deliver(w: W, m: M): void;
  onAny(pred: (w: W, m: M) => boolean): Promise<M>;
  ask(workers: W[], msg: unknown, type: string): Promise<M[]>;
  readonly waiting: number;
}
export function workerReplies<W = WorkerLike, M = { type: string; [k: string]: unknown }>(): WorkerReplies<W, M>;
