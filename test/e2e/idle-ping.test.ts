// Idle ping on a clean direct path through real daemons (issue 19 item 7, session 8,
// peer/interactive-datagram.ts): after a warm-up, both peers send the pings and replies as plain
// datagrams (status: smallPackets.datagram), not through KCP; on main the field does not exist. Then
// the TUN addon's native fast path sends them (session 10, peer/fast-path.ts: status fastPath), and
// the UDP addon's receive half opens them and writes them to the TUN (session 11, fastrecv.c:
// status fastPath.recvAddon), so an idle ping crosses no turn of JS on either side.
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
    type Small = Record<string, number> | undefined;
    const small = async (name: string): Promise<Small> => ((await lab.status(lab.peer(name).daemon)) as unknown as { peers: { smallPackets?: Record<string, number> }[] }).peers[0]?.smallPackets;
    // A loss seen (a KCP resend on a loaded box) holds small packets on KCP for 10 s: up to three
    // rounds, each a 300-ping warm-up and 10 idle pings; one round with plain sends both ways passes.
    let plain = false;
    for (let round = 0; round < 3 && !plain; round++) {
      const before = [await small('a'), await small('b')];
      const warm = await lab.ping('a', b.overlay, 300, { intervalS: 0.01 });
      const r = await lab.ping('a', b.overlay, 10, { intervalS: 0.2 });
      expect(r.received, r.out).toBe(10);
      const after = [await small('a'), await small('b')];
      say('idle', `round ${round}: warm-up ${warm.received}/${warm.sent}; a ${JSON.stringify(after[0])} b ${JSON.stringify(after[1])}`);
      const grew = (i: number) => (after[i]?.datagram ?? 0) - (before[i]?.datagram ?? 0) >= 5;
      plain = grew(0) && grew(1);
    }
    expect(plain).toBe(true);
  }, 120_000);

  it('then the pings leave from and arrive through the native fast path on both sides, none lost', async () => {
    const lab = m!;
    const b = lab.peer('b');
    type Fast = { sets: number; sent: number; received: number; last: Record<string, number>; addon: { sent: number }; recvAddon: { received: number } } | undefined;
    const fast = async (name: string): Promise<Fast> => ((await lab.status(lab.peer(name).daemon)) as unknown as { fastPath?: Fast }).fastPath;
    // The owner installs a pair's entry at its once-a-second look after the pair went plain.
    let on = false;
    for (let round = 0; round < 3 && !on; round++) {
      const before = [await fast('a'), await fast('b')];
      const r = await lab.ping('a', b.overlay, 20, { intervalS: 0.2 });
      expect(r.received, r.out).toBe(20);
      const after = [await fast('a'), await fast('b')];
      say('idle', `fast round ${round}: a ${JSON.stringify(after[0])} b ${JSON.stringify(after[1])}`);
      const grew = (i: number) =>
        (after[i]?.addon.sent ?? 0) - (before[i]?.addon.sent ?? 0) >= 10 && (after[i]?.recvAddon.received ?? 0) - (before[i]?.recvAddon.received ?? 0) >= 10;
      on = grew(0) && grew(1);
    }
    expect(on).toBe(true);
    // what the addon received is booked on the pair once a second (traffic, the link's clocks)
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await fast('a'))!.received).toBeGreaterThanOrEqual(10);
  }, 60_000);

  it('with both halves installed, larger packets and the other direction still get through', async () => {
    const lab = m!;
    const a = lab.peer('a');
    const b = lab.peer('b');
    const big = await lab.ping('a', b.overlay, 5, { intervalS: 0.2, size: 1200 });
    expect(big.received, big.out).toBe(5);
    const back = await lab.ping('b', a.overlay, 10, { intervalS: 0.05 });
    expect(back.received, back.out).toBe(10);
  }, 60_000);
});
