// meshd with a --network other than 10.9.0.0/24 (red-team finding M7): a peer used to advertise its
// own TUN address as a LAN endpoint (only the literal prefix "10.9." was left out), the other peer
// probed it through the tunnel, took it as a LAN path and the path moved into the tunnel itself and
// flapped. Real daemons in namespaces on 10.77.0.0/24: the path stays direct on the underlay, pings
// are steady, status shows no path changes, and the hub lists no overlay address as a LAN endpoint.
import { expect, it } from 'vitest';
import { describeRoot } from '../helpers/root.js';
import { requireDist, say, statusPeer, withMesh, type MeshLab } from '../helpers/mesh-lab.js';

const overlay24 = '10.77.0';
/** How long the path is watched (status sampled each second, pings every 0.3 s). */
const watchS = 30;

describeRoot('meshd on a non-default --network (real daemons in namespaces)', () => {
  it('M7: paths stay direct on the underlay, pings steady, no path changes; no overlay address is a LAN candidate', async () => {
    requireDist();
    await withMesh('net77', { peers: [{ name: 'a', placement: 'public' }, { name: 'b', placement: 'public' }], overlay24 }, async (m) => {
      const a = m.peer('a');
      const b = m.peer('b');
      const ms = await m.waitPing('a', b.overlay, 20_000);
      say('net77', `first ping a -> b ${b.overlay} after ${ms} ms; watching ${watchS} s`);
      await m.waitPath('a', 'b', 'direct', { timeoutMs: 20_000 });
      const since = a.daemon.mark;
      const pinging = m.ping('a', b.overlay, Math.round(watchS / 0.3), { intervalS: 0.3, waitS: 2 });
      const seen: string[] = [];
      for (let i = 0; i < watchS; i++) {
        seen.push(await pathOf(m, 'a', b.overlay));
        await new Promise((r) => setTimeout(r, 1000));
      }
      const ping = await pinging;
      const changes = seen.filter((s, i) => i > 0 && s !== seen[i - 1]).length;
      const logged = a.daemon.seen((o) => o.msg === 'path changed' && o.peer === b.overlay, since).length;
      say('net77', `ping ${ping.received}/${ping.sent}; ${ping.out.split('\n').pop()}`);
      say('net77', `status path a -> b sampled ${seen.length} times: ${[...new Set(seen)].join(', ')}; ${changes} changes; ${logged} "path changed" lines`);
      const hub = await m.status(m.hub);
      const lans = [...(hub.peers ?? []), ...(hub.members ?? [])].flatMap((p) => (Array.isArray(p.lan) ? (p.lan as string[]) : []));
      say('net77', `hub LAN endpoints: ${lans.join(', ') || '(none)'}`);

      expect(lans.filter((l) => l.startsWith(`${overlay24}.`)), 'an overlay address reached the map as a LAN endpoint').toEqual([]);
      expect(seen.every((s) => s.startsWith('direct ') && !s.includes(` ${overlay24}.`)), seen.join(' | ')).toBe(true);
      expect(changes).toBeLessThanOrEqual(1);
      expect(logged).toBeLessThanOrEqual(1);
      expect(ping.received).toBeGreaterThanOrEqual(ping.sent - 2);
    });
  }, 120_000);
});

/** "direct 198.51.100.10:41641" as `meshd status` shows the path from `from` to `overlay`. */
async function pathOf(m: MeshLab, from: string, overlay: string): Promise<string> {
  const st = await m.status(m.peer(from).daemon);
  const p = statusPeer(st, overlay);
  return `${String(p?.path ?? 'none')} ${String(p?.endpoint ?? '-')}`;
}
