// DNS answers from the map (peer/dns/answer.ts): golden replies, decoded with dns-packet.
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { answerDns, nameTable, Rcode } from '../../../src/peer/dns/answer.js';
import { fromHex, toHex } from '../../../src/util/bytes.js';
import { ipv4ToU32 } from '../../../src/util/ipv4.js';

const names = nameTable([{ name: 'a', overlay: ipv4ToU32('10.9.0.2') }, { name: 'B', overlay: ipv4ToU32('10.9.0.3') }]);
const query = (name: string, type: 'A' | 'AAAA' | 'TXT' = 'A', flags = dnsPacket.RECURSION_DESIRED) =>
  dnsPacket.encode({ type: 'query', id: 0x1234, flags, questions: [{ type, name, class: 'IN' }] });

describe('answerDns', () => {
  it('golden: a.mesh A -> 10.9.0.2, TTL 10, authoritative, RD echoed', () => {
    const q = query('a.mesh');
    expect(toHex(q)).toBe('1234010000010000000000000161046d6573680000010001');
    const r = answerDns(q, 'mesh', names);
    expect(r.outcome).toBe('answered');
    // id | QR AA RD, NOERROR | 1 question, 1 answer | question | answer: name, A, IN, ttl 10, 4 bytes 10.9.0.2
    expect(toHex(r.reply!)).toBe('1234850000010001000000000161046d65736800000100010161046d657368000001000100000' + '00a00040a090002');
  });

  it.each<[string, Buffer, string, number, number]>([
    ['names are case-insensitive (B registered, b.MESH asked)', query('b.MESH'), 'answered', Rcode.NOERROR, 1],
    ['a trailing dot is the same name', query('a.mesh.'), 'answered', Rcode.NOERROR, 1],
    ['an unknown name in the domain: NXDOMAIN', query('zz.mesh'), 'nxdomain', Rcode.NXDOMAIN, 0],
    ['a deeper name: NXDOMAIN', query('x.a.mesh'), 'nxdomain', Rcode.NXDOMAIN, 0],
    ['AAAA for a known name: no data (no IPv6 overlay yet)', query('a.mesh', 'AAAA'), 'nodata', Rcode.NOERROR, 0],
    ['the domain itself: no data', query('mesh', 'TXT'), 'nodata', Rcode.NOERROR, 0],
    ['another domain: REFUSED (never recursive)', query('example.com'), 'refused', Rcode.REFUSED, 0],
    ['a name that merely ends in the domain text: REFUSED', query('amesh'), 'refused', Rcode.REFUSED, 0],
  ])('%s', (_why, q, outcome, rcode, answers) => {
    const r = answerDns(q, 'mesh', names);
    expect(r.outcome).toBe(outcome);
    const d = dnsPacket.decode(r.reply!);
    expect(d.id).toBe(0x1234);
    expect((d.flags ?? 0) & 15).toBe(rcode);
    expect(d.answers?.length).toBe(answers);
  });

  it('a multi-label domain', () => {
    const r = answerDns(query('a.mesh.example'), 'mesh.example', names);
    expect(dnsPacket.decode(r.reply!).answers?.[0]).toMatchObject({ type: 'A', data: '10.9.0.2', ttl: 10 });
  });

  it.each([
    ['garbage', fromHex('00ff')],
    ['a response, not a query', dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'a.mesh', class: 'IN' }] })],
  ])('drops %s without a reply', (_why, q) => {
    const r = answerDns(q, 'mesh', names);
    expect(r).toEqual({ outcome: 'malformed' });
  });

  it('an opcode other than QUERY: NOTIMP', () => {
    const r = answerDns(query('a.mesh', 'A', 2 << 11), 'mesh', names);
    expect(r.outcome).toBe('notimp');
  });
});
