// Which traversal technique a pair uses, as a pure function of both sides' NAT classes (docs/NAT.md):
// direct probing (today's punch) when either side keeps one public port for every destination; port
// prediction when the hard side allocates sequentially; birthday when one side is easy and the other
// random; relay when both are random (~170k probes: nobody does it), with the reason kept for status.
// Tested with a table in test/nat/technique.test.ts.
import type { NatClass } from '../wire/nat-class.js';

export type TechniqueName = 'direct' | 'prediction' | 'birthday' | 'relay';

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
  if (random(own) && random(partner)) return { technique: 'relay', reason: 'both sides random-port EDM (about 170k probes to meet): relayed' };
  // One random, one sequential: neither side is predictable from the other's view.
  return { technique: 'relay', reason: 'one side random-port EDM, the other sequential EDM: relayed' };
}
