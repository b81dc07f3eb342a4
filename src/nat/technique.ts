// Which traversal technique a pair uses, as a pure function of both sides' NAT classes (docs/NAT.md):
// direct probing (today's punch) when either side keeps one public port for every destination; port
// prediction when the hard side allocates sequentially; birthday when one side is easy and the other
// random; relay when both are random (~170k probes: nobody does it), with the reason kept for status.
// Tested with a table in test/nat/technique.test.ts.
import type { NatClass } from '../wire/nat-class.js';

export type TechniqueName = 'direct' | 'prediction' | 'birthday' | 'portmap' | 'relay';

export interface Plan {
  technique: TechniqueName;
  /** birthday: 'hard' opens many sockets, 'easy' sends paced probes; prediction: 'easy' sweeps the
   * partner's predicted ports, 'hard' only pings (its next mapping is the predicted one), 'both'
   * sweep (both sequential). */
  role?: 'hard' | 'easy' | 'both';
  /** Why this technique (and for relay, why not direct): shown by `meshd status`. */
  reason: string;
}

const easy = (c: NatClass) => c.mapping === 'eim';
const sequential = (c: NatClass) => c.mapping === 'edm' && c.allocation === 'sequential' && c.delta !== 0;
const random = (c: NatClass) => c.mapping === 'edm' && !sequential(c);
/** A port-mapping protocol answered on its gateway: that side asks for a mapping (nat/port-mapper.ts)
 * and advertises it, so the other side's direct probes reach it whatever its NAT does. */
const mapped = (c: NatClass) => c.portMap.length > 0;

/**
 * Sequential <-> random is relayed (docs/NAT.md "Sequential <-> random"): the random side's mapping
 * towards each of the sequential side's ports is a fresh random port, and every guess of the
 * sequential side costs it a new mapping, so a meeting needs the random side to open about
 * 65,536 * ln(1 / (1 - p)) mappings (p = 0.98: ~256k packets, 21 min at the birthday pace), against
 * 256 sockets + ~1,024 probes for EIM <-> random.
 */
export const sequentialRandomPacketsFor98Pct = Math.round(64_512 * Math.log(1 / 0.02));

export function choosePlan(own: NatClass | undefined, partner: NatClass | undefined): Plan {
  if (!own || !partner || own.mapping === 'unknown' || partner.mapping === 'unknown') {
    return { technique: 'direct', reason: 'a NAT class is unknown: direct probing only' };
  }
  if (easy(own) && easy(partner)) return { technique: 'direct', reason: 'both sides endpoint-independent' };
  if (sequential(own) && sequential(partner)) return { technique: 'prediction', role: 'both', reason: 'both sides sequential: mirrored port prediction' };
  if (sequential(own) && easy(partner)) return { technique: 'prediction', role: 'hard', reason: 'this side sequential, partner endpoint-independent' };
  if (easy(own) && sequential(partner)) return { technique: 'prediction', role: 'easy', reason: 'partner sequential: sweep its predicted ports' };
  if (random(own) && easy(partner)) return { technique: 'birthday', role: 'hard', reason: 'this side random-port EDM, partner endpoint-independent' };
  if (easy(own) && random(partner)) return { technique: 'birthday', role: 'easy', reason: 'partner random-port EDM: birthday probes' };
  // Past here a pair would be relayed: a port mapping on either side still makes it direct.
  if (mapped(own)) return { technique: 'portmap', reason: `this side's gateway maps a port (${own.portMap.join(', ')}): the partner probes the mapped endpoint` };
  if (mapped(partner)) return { technique: 'portmap', reason: `partner's gateway maps a port (${partner.portMap.join(', ')}): probing its mapped endpoint` };
  if (random(own) && random(partner)) return { technique: 'relay', reason: 'both sides random-port EDM (about 170k probes to meet), no port mapping: relayed' };
  // One random, one sequential: neither side is predictable from the other's view.
  return { technique: 'relay', reason: `one side random-port EDM, the other sequential EDM (~${Math.round(sequentialRandomPacketsFor98Pct / 1000)}k packets for 98 %), no port mapping: relayed` };
}
