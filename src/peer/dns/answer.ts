// DNS answers for NAME.<domain> from the peer map (issue 23, docs/ROUTES.md "Names"): A records with
// a short TTL, NXDOMAIN for unknown names inside the domain, REFUSED for everything else (never a
// recursive resolver). Messages are decoded and encoded by dns-packet. Pure; server.ts does the I/O.
import dnsPacket from 'dns-packet';
import { u32ToIpv4 } from '../../util/ipv4.js';

/** Local tuning: names follow the map (a rename, a leave); resolvers should not cache them for long. */
export const dnsTtlS = 10;

/** RFC 1035/2136 response codes used here. */
export const Rcode = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export type DnsOutcome = 'answered' | 'nodata' | 'nxdomain' | 'refused' | 'formerr' | 'notimp' | 'malformed';

/** Lower-cased DNS label -> overlay address. */
export type NameTable = ReadonlyMap<string, number>;

const AA = dnsPacket.AUTHORITATIVE_ANSWER;
const RD = dnsPacket.RECURSION_DESIRED;

/** The reply to one query datagram (undefined: not a query we answer at all, dropped and counted). */
export function answerDns(query: Uint8Array, domain: string, names: NameTable): { reply?: Buffer; outcome: DnsOutcome } {
  let q: dnsPacket.DecodedPacket;
  try {
    q = dnsPacket.decode(Buffer.from(query.buffer, query.byteOffset, query.byteLength));
  } catch {
    return { outcome: 'malformed' };
  }
  if (q.type !== 'query') return { outcome: 'malformed' };
  const flags = q.flags ?? 0;
  const reply = (rcode: number, answers: dnsPacket.Answer[] = []): Buffer =>
    dnsPacket.encode({ type: 'response', id: q.id ?? 0, flags: AA | (flags & RD) | rcode, questions: q.questions ?? [], answers });
  if (((flags >> 11) & 15) !== 0) return { reply: reply(Rcode.NOTIMP), outcome: 'notimp' };
  const question = q.questions?.length === 1 ? q.questions[0]! : undefined;
  if (!question) return { reply: reply(Rcode.FORMERR), outcome: 'formerr' };
  const name = question.name.toLowerCase().replace(/\.$/, '');
  if (name !== domain && !name.endsWith(`.${domain}`)) return { reply: reply(Rcode.REFUSED), outcome: 'refused' };
  const label = name === domain ? '' : name.slice(0, -(domain.length + 1));
  const address = label.includes('.') || label === '' ? undefined : names.get(label);
  if (address === undefined) {
    // The domain itself exists (no records); anything else under it does not.
    return label === '' ? { reply: reply(Rcode.NOERROR), outcome: 'nodata' } : { reply: reply(Rcode.NXDOMAIN), outcome: 'nxdomain' };
  }
  if (question.type !== 'A' && (question.type as string) !== 'ANY') return { reply: reply(Rcode.NOERROR), outcome: 'nodata' };
  return { reply: reply(Rcode.NOERROR, [{ type: 'A', name: question.name, ttl: dnsTtlS, class: 'IN', data: u32ToIpv4(address) }]), outcome: 'answered' };
}

/** The name table from our own entry and the map's peers (names are unique in a network). */
export function nameTable(entries: Iterable<{ name: string; overlay: number }>): Map<string, number> {
  const t = new Map<string, number>();
  for (const e of entries) if (e.name !== '') t.set(e.name.toLowerCase(), e.overlay >>> 0);
  return t;
}
