// --hub-transport per hub with several hubs, end to end (issue 24): real processes in namespaces
// (test/helpers/cluster-lab.ts, one NATS node to stay lean). Peer a lists hub 1 then hub 2; its NAT
// router drops all UDP to and from hub 2 for good (nftables), so a registers on hub 1 over UDP and
// reaches hub 2, its standby, over TCP (--hub-transport auto): one transport decision per hub
// (peer/hub-legs.ts). Before, only the first --hub had a transport decision and every other hub was
// UDP only: hub 2 never answered a. b is homed on hub 2 alone. `meshd status --json` on a says each
// hub's leg, and a and b, homed on different hubs, ping each other.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot, toolsMissing } from '../helpers/root.js';
import { requireDist, say } from '../helpers/mesh-lab.js';
import { natsSkipReason } from '../helpers/nats.js';
import { ClusterLab } from '../helpers/cluster-lab.js';

const tag = 'cluster-transport';
const hub1 = '203.0.113.2:7000';
const hub2 = '198.51.100.130:7000';

interface HubRow {
  hub: string;
  role: string;
  transport?: string;
}

describeRoot('several hubs, one of them UDP-blocked: each hub reached on its own leg (real processes in namespaces)', () => {
  let m: ClusterLab | undefined;

  async function rows(lab: ClusterLab): Promise<HubRow[] | undefined> {
    return (await lab.status(lab.peer('a').daemon))?.hubs as HubRow[] | undefined;
  }

  beforeAll(async () => {
    requireDist();
    natsSkipReason();
    const missing = toolsMissing(['nats-server', 'curl']);
    if (missing !== undefined) throw new Error(`${missing} (.ci/run installs it)`);
    const lab = new ClusterLab(tag);
    const t0 = Date.now();
    try {
      await lab.startNats(30_000, 1);
      await lab.startHub(1);
      await lab.startHub(2);
      lab.addPeer({ name: 'b', placement: 'nat', hub: 2 });
      await lab.waitRegistered('b');
      // a: home hub 1 (hub 2 dropped by its router until a registered), then UDP to hub 2 dropped for good.
      lab.addPeer({ name: 'a', placement: 'nat', hub: 1, standby: 2, udpBlockedTo: 2 });
      await lab.waitRegistered('a', 60_000);
    } catch (e) {
      console.log(lab.logs());
      lab.dispose();
      throw e;
    }
    m = lab;
    say(tag, `1 NATS node, 2 hubs, b on hub 2, a registered on hub 1 (UDP to hub 2 blocked at a's router): ${Date.now() - t0} ms`);
  }, 150_000);

  afterAll(() => m?.dispose());

  it('a reaches hub 1 over UDP and hub 2 over TCP, says so per hub, and pings b across the hubs', async () => {
    const lab = m;
    if (lab === undefined) throw new Error('the topology did not come up (see beforeAll)');
    try {
      // Hub 2 became reachable (over TCP only) after a registered: it is handshaken as standby.
      const end = Date.now() + 40_000;
      let last: HubRow[] | undefined;
      for (;;) {
        last = await rows(lab);
        const h1 = last?.find((r) => r.hub === hub1);
        const h2 = last?.find((r) => r.hub === hub2);
        if (h1?.role === 'home' && h1.transport === 'udp' && h2?.role === 'standby' && h2.transport === 'tcp') break;
        if (Date.now() > end) throw new Error(`a's hubs not (hub 1 home over udp, hub 2 standby over tcp) within 40 s: ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      say(tag, `a's hubs: ${JSON.stringify(last)}`);
      const aToB = await lab.waitPing('a', lab.peer('b').overlay, 30_000);
      const bToA = await lab.waitPing('b', lab.peer('a').overlay, 30_000);
      say(tag, `first ping a -> b after ${aToB} ms, b -> a after ${bToA} ms`);
      const r = await lab.ping('a', lab.peer('b').overlay, 5);
      expect(r.received, r.out).toBeGreaterThanOrEqual(4);
      const back = await lab.ping('b', lab.peer('a').overlay, 5);
      expect(back.received, back.out).toBeGreaterThanOrEqual(4);
      // Still on its legs after the traffic: hub 1 over UDP, hub 2 over TCP.
      const after = await rows(lab);
      expect(after?.find((x) => x.hub === hub2)?.transport).toBe('tcp');
      expect(after?.find((x) => x.hub === hub1)?.transport).toBe('udp');
    } catch (e) {
      say(tag, `FAILED: ${(e as Error).message}\n${lab.logs()}`);
      throw e;
    }
  }, 120_000);
});
