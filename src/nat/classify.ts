// NAT classification as a pure function (docs/NAT.md): from what the hub's two ports saw of one
// socket, and of a few fresh sockets, to a NatClass (wire/nat-class.ts). Used by nat/classifier.ts
// (the daemon and `meshd netcheck`); tested with a table in test/nat/classify.test.ts.
import type { Endpoint } from '../net/udp.js';
import type { Allocation, Filtering, Mapping, NatClass, PortMapProtocol } from '../wire/nat-class.js';

export interface ProbeObservations {
  /** The primary socket's local port and what the hub's main and probe ports saw of it. */
  primary: { localPort: number; viaMain?: Endpoint; viaProbe?: Endpoint };
  /** Fresh sockets, in the order they were opened and probed: local port, what the probe port saw. */
  fresh: Array<{ localPort: number; observed?: Endpoint }>;
  /** A fresh socket asked the probe port for two replies: from itself and from the other port. */
  filtering?: { sameReply: boolean; otherReply: boolean };
  portMap: PortMapProtocol[];
}

/** Local tuning: a sequential NAT's step is at most this (others' traffic between our probes can
 * add a few ports; past this, prediction is no better than guessing). */
export const maxSequentialDelta = 32;

export function classifyMapping(o: ProbeObservations): Mapping {
  const { viaMain, viaProbe } = o.primary;
  if (!viaMain || !viaProbe) return 'unknown';
  return viaMain.address === viaProbe.address && viaMain.port === viaProbe.port ? 'eim' : 'edm';
}

export function classifyFiltering(o: ProbeObservations): Filtering {
  const f = o.filtering;
  if (!f || !f.sameReply) return 'unknown';
  return f.otherReply ? 'address' : 'address-port';
}

/** Preserved when every public port equals the local one; sequential when consecutive fresh
 * mappings step by a small positive (or negative) amount of one sign; random otherwise. */
export function classifyAllocation(o: ProbeObservations): { allocation: Allocation; delta: number } {
  const seen = o.fresh.filter((f): f is { localPort: number; observed: Endpoint } => f.observed !== undefined);
  if (seen.length < 2) return { allocation: 'unknown', delta: 0 };
  if (seen.every((f) => f.observed.port === f.localPort)) return { allocation: 'preserved', delta: 0 };
  const deltas: number[] = [];
  for (let i = 1; i < seen.length; i++) deltas.push(seen[i]!.observed.port - seen[i - 1]!.observed.port);
  const sameSign = deltas.every((d) => d > 0) || deltas.every((d) => d < 0);
  if (sameSign && deltas.every((d) => Math.abs(d) <= maxSequentialDelta)) {
    const delta = deltas.reduce((a, d) => (Math.abs(d) < Math.abs(a) ? d : a));
    return { allocation: 'sequential', delta };
  }
  return { allocation: 'random', delta: 0 };
}

export function classify(o: ProbeObservations): NatClass {
  const mapping = classifyMapping(o);
  const { allocation, delta } = classifyAllocation(o);
  return { mapping, filtering: classifyFiltering(o), allocation, delta, portMap: [...o.portMap] };
}

/** Open internet or a NAT that keeps ports and mappings: what others see of our main socket. */
export function isEasy(c: NatClass | undefined): boolean {
  return c !== undefined && c.mapping === 'eim';
}
