// The load tools' shared waiting for worker messages (bench/load/worker-replies.mjs).
import { describe, expect, it } from 'vitest';
import { workerReplies } from '../../bench/load/worker-replies.mjs';

interface Msg {
  type: string;
  n?: number;
}
function fakeWorker(name: string, sent: Array<[string, unknown]>) {
  return { name, send: (m: unknown) => sent.push([name, m]) };
}

describe('workerReplies', () => {
  it('resolves a waiter with the first matching message only, and drops it', async () => {
    const r = workerReplies<{ name: string }, Msg>();
    const a = { name: 'a' };
    const b = { name: 'b' };
    const got = r.onAny((w, m) => w === b && m.type === 'x');
    r.deliver(a, { type: 'x', n: 1 }); // another worker
    r.deliver(b, { type: 'y', n: 2 }); // another type
    r.deliver(b, { type: 'x', n: 3 });
    r.deliver(b, { type: 'x', n: 4 }); // already answered
    expect(await got).toEqual({ type: 'x', n: 3 });
    expect(r.waiting).toBe(0);
  });

  it('ask: one message to each worker, replies in worker order whatever order they arrive in', async () => {
    const sent: Array<[string, unknown]> = [];
    const r = workerReplies<ReturnType<typeof fakeWorker>, Msg>();
    const ws = [fakeWorker('a', sent), fakeWorker('b', sent)];
    const replies = r.ask(ws, { type: 'versions' }, 'versions');
    expect(sent).toEqual([['a', { type: 'versions' }], ['b', { type: 'versions' }]]);
    r.deliver(ws[1]!, { type: 'versions', n: 2 });
    r.deliver(ws[0]!, { type: 'progress', n: 9 });
    r.deliver(ws[0]!, { type: 'versions', n: 1 });
    expect((await replies).map((m) => m.n)).toEqual([1, 2]);
    expect(r.waiting).toBe(0);
  });

  it('a message delivered before a waiter exists is not kept for it', async () => {
    const r = workerReplies<string, Msg>();
    r.deliver('a', { type: 'ready' });
    let resolved = false;
    void r.onAny((_w, m) => m.type === 'ready').then(() => (resolved = true));
    await Promise.resolve();
    expect(resolved).toBe(false);
    r.deliver('a', { type: 'ready' });
    await new Promise((res) => setTimeout(res, 0));
    expect(resolved).toBe(true);
  });
});
