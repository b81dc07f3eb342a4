// Runs the NAT classification (docs/NAT.md): the primary socket asks both hub ports, a few fresh
// sockets ask the probe port one after another (port allocation), the first of them also asks for a
// reply from the other port (filtering); classify.ts turns the answers into a NatClass. The daemon
// runs it on its main socket (nat/nat-socket.ts); `meshd netcheck` on a fresh one (nat/netcheck.ts).
import type { Endpoint, UdpSocket } from '../net/udp.js';
import type { NatClass, PortMapProtocol } from '../wire/nat-class.js';
import { classify, type ProbeObservations } from './classify.js';
import type { ProbeAnswer, Prober } from './prober.js';

/** Local tuning: fresh sockets for the allocation question (three give two steps to compare). */
export const freshSockets = 3;

export interface ClassifyIo {
  prober: Prober;
  /** Sends from the primary socket (its replies must reach prober.onReply). */
  primary: { send: (d: Uint8Array, to: Endpoint) => void; localPort: number };
  /** Opens a fresh UDP socket on an ephemeral port. */
  openFresh: () => Promise<UdpSocket>;
  hub: Endpoint;
  probePort: number;
  /** Which port-mapping protocols the gateway answers (nat/port-map.ts), if asked. */
  portMap?: () => Promise<PortMapProtocol[]>;
}

export interface Classification {
  nat: NatClass;
  observations: ProbeObservations;
  /** Public endpoint of the primary socket as the hub's main port saw it. */
  publicEndpoint: Endpoint | undefined;
  hubRttMs: { main: number | undefined; probe: number | undefined };
  /** Any probe answered: UDP to the hub works. */
  udp: boolean;
  probesSent: number;
}

export async function runClassification(io: ClassifyIo): Promise<Classification> {
  const sent0 = io.prober.sent;
  const probeEp = { address: io.hub.address, port: io.probePort };
  const portMap = io.portMap ? io.portMap().catch(() => [] as PortMapProtocol[]) : Promise.resolve([] as PortMapProtocol[]);
  const [viaMain, viaProbe] = await Promise.all([io.prober.ask(io.primary.send, io.hub), io.prober.ask(io.primary.send, probeEp)]);
  const fresh: ProbeObservations['fresh'] = [];
  let filtering: ProbeObservations['filtering'];
  for (let i = 0; i < freshSockets; i++) {
    let sock: UdpSocket | undefined;
    try {
      sock = await io.openFresh();
    } catch {
      break;
    }
    const s = sock;
    s.onMessage((d, from) => io.prober.onReply(d, from));
    const send = (d: Uint8Array, to: Endpoint) => s.send(d, to);
    let same: ProbeAnswer | undefined;
    if (i === 0) {
      const [a, other] = await Promise.all([io.prober.ask(send, probeEp), io.prober.ask(send, probeEp, io.hub.port)]);
      same = a;
      filtering = { sameReply: a !== undefined, otherReply: other !== undefined };
    } else same = await io.prober.ask(send, probeEp);
    fresh.push({ localPort: s.local.port, ...(same ? { observed: same.observed } : {}) });
    await s.close();
  }
  const observations: ProbeObservations = {
    primary: { localPort: io.primary.localPort, ...(viaMain ? { viaMain: viaMain.observed } : {}), ...(viaProbe ? { viaProbe: viaProbe.observed } : {}) },
    fresh,
    ...(filtering ? { filtering } : {}),
    portMap: await portMap,
  };
  return {
    nat: classify(observations),
    observations,
    publicEndpoint: viaMain?.observed,
    hubRttMs: { main: viaMain?.rttMs, probe: viaProbe?.rttMs },
    udp: viaMain !== undefined || viaProbe !== undefined || fresh.some((f) => f.observed),
    probesSent: io.prober.sent - sent0,
  };
}
