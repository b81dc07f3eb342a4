// Idle ping on a clean direct path through real daemons (issue 19 item 7, session 8,
// peer/interactive-datagram.ts): after a warm-up, both peers send the pings and replies as plain
// datagrams (status: smallPackets.datagram), not through KCP.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../helpers/root.js';
import { MeshLab, requireDist, say } from '../helpers/mesh-lab.js';

describeRoot('idle ping on a clean direct path (real daemons)', () => {
  let m: MeshLab | undefined;
  beforeAll(async () => {
    requireDist();
    m = await MeshLab.start('idle', { peers: [{ name: 'a', placement: 'public' }, { name: 'b', placement: 'public' }] });
  }, 60_000);
  afterAll(() => m?.dispose());

  it('after 300 pings, the next ones go plain both ways', async () => {
    const lab = m!;
    const b = lab.peer('b');
    await lab.waitPing('a', b.overlay, 20_000);
    const warm = await lab.ping('a', b.overlay, 300, { intervalS: 0.01 });
    say('idle', `warm-up ${warm.received}/${warm.sent}`);
    const r = await lab.ping('a', b.overlay, 10, { intervalS: 0.2 });
    expect(r.received, r.out).toBe(10);
    const sa = await lab.status(lab.peer('a').daemon);
    const sb = await lab.status(lab.peer('b').daemon);
    const small = (s: typeof sa) => (s as unknown as { peers: { smallPackets?: Record<string, number> }[] }).peers[0]?.smallPackets;
    say('idle', `a ${JSON.stringify(small(sa))} b ${JSON.stringify(small(sb))}`);
    expect(small(sa)?.datagram ?? 0).toBeGreaterThanOrEqual(5);
    expect(small(sb)?.datagram ?? 0).toBeGreaterThanOrEqual(5);
  }, 90_000);
});
