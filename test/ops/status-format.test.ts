// `meshd status` and `meshd ping` rendering: fixed inputs, exact expected text.
import { describe, expect, it } from 'vitest';
import {
  formatAgo,
  formatBytes,
  formatDuration,
  formatPingReply,
  formatPingSummary,
  formatRtt,
  formatStatus,
  renderTable,
} from '../../src/ops/status-format.js';
import { hubStatus, peerStatus } from './fixtures.js';

describe('units', () => {
  it.each([
    [0, '0 B', 'zero has no decimals'],
    [1023, '1023 B', 'bytes stay whole below 1 KiB'],
    [1024, '1.0 KiB', 'one decimal below 10 of a unit'],
    [1536, '1.5 KiB', ''],
    [327_680, '320 KiB', 'whole numbers from 10 up'],
    [1_572_864, '1.5 MiB', ''],
    [5 * 1024 ** 4, '5.0 TiB', 'large counters'],
  ])('formatBytes(%d) = %s %s', (n, want) => {
    expect(formatBytes(n)).toBe(want);
  });

  it.each([
    [999, '0s', 'sub-second rounds down'],
    [12_300, '12s', ''],
    [75_000, '1m15s', 'two largest units'],
    [3_700_000, '1h1m', ''],
    [100_000_000, '1d3h', ''],
    [-5, '0s', 'a clock step cannot show negative'],
  ])('formatDuration(%d) = %s %s', (ms, want) => {
    expect(formatDuration(ms)).toBe(want);
  });

  it('formatAgo and formatRtt', () => {
    expect(formatAgo(12_300)).toBe('12s ago');
    expect(formatAgo(null)).toBe('never');
    expect(formatRtt(1.234)).toBe('1.2ms');
    expect(formatRtt(31.6)).toBe('32ms');
    expect(formatRtt(null)).toBe('-');
  });

  it('renderTable pads all but the last column and scrubs control characters', () => {
    expect(renderTable(['A', 'BB', 'C'], [['xxx', '', 'z'], ['\x1b[31m', 'y', '']])).toBe(['A      BB  C', 'xxx        z', '?[31m  y'].join('\n'));
  });
});

describe('formatStatus', () => {
  it('renders a peer: header, hub line, the peers table, traffic and non-zero drops', () => {
    expect(formatStatus(peerStatus)).toBe(
      [
        'peer a 10.9.0.2/24  key QUFBQUFB  tun meshd0 mtu 1378  kcp  listen 0.0.0.0:41641  up 2h3m',
        'hub 203.0.113.2:7000  registered  reflexive 198.51.100.2:41641  heard 3s ago',
        '',
        'NAME  ADDRESS   KEY       PATH    ENDPOINT            RTT    LOSS  IN       OUT      HEARD    HANDSHAKE',
        'b     10.9.0.3  YmJiYmJi  direct  198.51.100.7:41641  1.2ms  0%    1.5 MiB  320 KiB  2s ago   1m15s ago',
        'c     10.9.0.4  Y2NjY2Nj  relay   203.0.113.2:7000    32ms   2%    512 B    2.0 KiB  12s ago  1h1m ago',
        'd     10.9.0.5  ZGRkZGRk  -       -                   -      -     0 B      0 B      never    never',
        '',
        'traffic in 1.5 MiB (1200 pkts)  out 322 KiB (950 pkts)',
        'drops no_path 3, queue_full 1',
        '',
      ].join('\n'),
    );
  });

  it('renders a lone, unregistered peer without a table', () => {
    const lonely = { ...peerStatus, peers: [], drops: { no_path: 0 }, hub: { endpoint: '203.0.113.2:7000', registered: false, reflexive: null, lastHeardMsAgo: null } };
    expect(formatStatus(lonely)).toBe(
      [
        'peer a 10.9.0.2/24  key QUFBQUFB  tun meshd0 mtu 1378  kcp  listen 0.0.0.0:41641  up 2h3m',
        'hub 203.0.113.2:7000  not registered  reflexive -  heard never',
        '',
        'no other peers in the network yet',
        '',
        'traffic in 1.5 MiB (1200 pkts)  out 322 KiB (950 pkts)',
        'drops none',
        '',
      ].join('\n'),
    );
  });

  it('says when a handshake was refused as stale, with the skew (a clock without NTP)', () => {
    const stale = { remote: 'ZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGQ=', from: 'udp:198.51.100.9:4000', skewS: -312, agoMs: 4_000 };
    expect(formatStatus({ ...hubStatus, staleHandshake: stale })).toMatch(/\nclock: a handshake from ZGRkZGRk \(udp:198\.51\.100\.9:4000\) was refused as stale 4s ago: its clock is 312 s behind ours \(limit 180 s\)\n$/);
    expect(formatStatus({ ...peerStatus, staleHandshake: { ...stale, skewS: 200 } })).toMatch(/its clock is 200 s ahead of ours/);
    expect(formatStatus(hubStatus)).not.toMatch(/clock:/);
  });

  it('renders a hub: members with reflexive and LAN endpoints, heartbeat, relayed bytes', () => {
    expect(formatStatus(hubStatus)).toBe(
      [
        'hub key ZGRkZGRk  network 10.9.0.0/24  listen 0.0.0.0:7000  up 5m0s  map v12',
        'relayed 1.2 MiB (900 pkts)',
        `join with: meshd peer --hub <this host>:7000 --hub-key ${hubStatus.publicKey}`,
        '',
        'NAME  ADDRESS   KEY       REFLEXIVE           LAN                                HEARTBEAT  REGISTERED  RELAYED',
        'a     10.9.0.2  QUFBQUFB  198.51.100.2:41641  192.0.2.2:41641                    3s ago     4m50s       0 B',
        'c     10.9.0.4  Y2NjY2Nj  198.51.100.10:5123  192.0.2.18:41641,172.17.0.1:41641  19s ago    1d3h        1.2 MiB',
        '',
      ].join('\n'),
    );
    expect(formatStatus({ ...hubStatus, members: [] })).toContain('\nno peers registered\n');
  });

  it('renders the cluster: other hubs with their members, NATS, the hub-to-hub UDP sessions and their drops', () => {
    const cluster = {
      hubId: 'h1', connection: 'connected', mapMembers: 3, hubs: [{ hubId: 'h2', members: 2, lastSeenAgoMs: 1_000 }],
      signals: { sent: 4, received: 3, refused: 0 }, watchRestarts: 0, presence: { writeFailures: 2, lastWriteAgoMs: 2_000 },
      crossHub: {
        counters: { relayedOut: 7, relayedIn: 5, punchesOut: 4, punchesIn: 3 }, drops: { no_home: 1 },
        udp: { sessions: [{ hubId: 'h2', endpoint: '203.0.113.2:7000', framesOut: 7, framesIn: 5, bytesOut: 7_000, bytesIn: 5_000 }], drops: { replayed: 2, bad_tag: 0 } },
      },
    };
    const out = formatStatus({ ...hubStatus, cluster });
    expect(out).toContain('\ncluster: hub h1, NATS connected, 3 members in the map; other hubs: h2 (2 members, seen 1s ago)\n');
    expect(out).toContain('\ncross-hub: relayed 7 out, 5 in; punches 4 out, 3 in; dropped 1; watches remade 0\n');
    expect(out).toContain('\nhub-to-hub udp: h2 at 203.0.113.2:7000: out 7 (6.8 KiB), in 5 (4.9 KiB)\n');
    expect(out).toContain('\nhub-to-hub udp: 1 session(s); frames dropped: replayed 2\n');
    expect(out).toContain('\npresence: 2 writes failed (retried within the TTL), last written 2s ago\n');
  });

  it.each([
    ['no role', { peers: [] }],
    ['unknown role', { role: 'router' }],
    ['a peer missing its fields', { role: 'peer' }],
    ['not an object', 'hello'],
  ])('refuses %s with STATUS_SHAPE', (_why, s) => {
    expect(() => formatStatus(s)).toThrow(expect.objectContaining({ code: 'STATUS_SHAPE' }));
  });
});

describe('ping lines', () => {
  it.each([
    [{ seq: 1, rttMs: 1.234, path: 'direct', endpoint: '198.51.100.7:41641', name: 'b', address: '10.9.0.3' }, 'pong from b (10.9.0.3) via 198.51.100.7:41641 (direct) in 1.2ms'],
    [{ seq: 2, rttMs: 30.5, path: 'relay', endpoint: '203.0.113.2:7000', name: 'b', address: '10.9.0.3' }, 'pong from b (10.9.0.3) via 203.0.113.2:7000 (relay) in 31ms'],
    [{ seq: 3, rttMs: 0.4, path: 'lan' }, 'pong from 10.9.0.3 via hub (lan) in 0.4ms'],
  ] as const)('%o', (r, want) => {
    expect(formatPingReply('10.9.0.3', r)).toBe(want);
  });

  it.each([
    [{ target: 'b', name: 'b', address: '10.9.0.3', sent: 4, received: 3, direct: true }, false, '4 sent, 3 received, 25% loss'],
    [{ target: 'b', sent: 4, received: 0, direct: false }, false, 'no reply from b (4 sent)'],
    [{ target: 'b', name: 'b', address: '10.9.0.3', sent: 10, received: 10, direct: false }, true, 'no direct path to b (10.9.0.3) yet: 10/10 replies, all relayed'],
    [{ target: 'b', sent: 2, received: 1, direct: true }, true, '2 sent, 1 received, 50% loss'],
  ])('summary %o untilDirect=%s', (s, untilDirect, want) => {
    expect(formatPingSummary(s, untilDirect)).toBe(want);
  });
});

describe('names from the network and refusals (issue 17 Low, H1)', () => {
  it('renders terminal escapes and bidi overrides in names as ?', () => {
    const s = { ...peerStatus, name: 'a\u001b]0;x\u0007b', peers: [{ ...peerStatus.peers[0]!, name: 'evil\u202egnp' }] };
    const out = formatStatus(s);
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u202e]/u); // newlines are the table's own
    expect(out).toContain('a?]0;x?b');
    expect(out).toContain('evil?gnp');
  });
  it('a refused peer says why and that it retries', () => {
    const s = { ...peerStatus, hub: { ...peerStatus.hub, registered: false, refused: 'hub refused registration: 10.9.0.3 is bound to another key' } };
    expect(formatStatus(s)).toContain('not registered (hub refused registration: 10.9.0.3 is bound to another key; retrying)');
  });
  it('ping lines print names safely', () => {
    expect(formatPingReply('x', { seq: 1, rttMs: 1, path: 'direct', endpoint: '198.51.100.1:1', name: 'b\u001b[2J', address: '10.9.0.3' })).toBe('pong from b?[2J (10.9.0.3) via 198.51.100.1:1 (direct) in 1.0ms');
  });
});

describe('hub bindings of keys not registered now', () => {
  it('lists them with how to free one', () => {
    const s = { ...hubStatus, bindings: [{ name: 'pb', address: '10.9.0.3', publicKey: 'Q7mopTppAAAA', lastSeen: '2026-12-04T12:00:00.000Z', pinned: false }] };
    const out = formatStatus(s);
    expect(out).toContain('meshd hub release');
    expect(out).toMatch(/pb\s+10\.9\.0\.3\s+Q7mopTpp\s+2026-12-04T12:00:00\.000Z\s+first come/);
  });

  it('prints the NAT class and, per pair, the technique that won or why it is relayed', () => {
    const s = {
      ...peerStatus,
      nat: { mapping: 'eim', filtering: 'address-port', allocation: 'preserved', delta: 0, portMap: [] },
      peers: [
        { ...peerStatus.peers[0]!, traversal: { technique: 'birthday' as const, state: 'direct' as const, reason: 'partner random-port EDM: birthday probes', probes: 170, sockets: 0, timeToDirectMs: 949 } },
        { ...peerStatus.peers[0]!, name: 'c', traversal: { technique: 'relay' as const, state: 'relayed' as const, reason: 'both sides random-port EDM (about 170k probes to meet): relayed', probes: 0, sockets: 0 } },
      ],
    };
    const out = formatStatus(s);
    expect(out).toMatch(/nat mapping eim {2}filtering address-port {2}allocation preserved {2}port mapping none/);
    expect(out).toMatch(/birthday +direct in 0\.9 s +170 +partner random-port EDM/);
    expect(out).toMatch(/c +relay +relayed +0 +both sides random-port EDM/);
  });
  it('prints one PEER CHANNEL FEC WHY line per peer: the pair\'s one decision, its FEC shape and why', () => {
    const s = {
      ...peerStatus,
      transport: 'auto' as const,
      peers: [
        { ...peerStatus.peers[0]!, channelMode: { mode: 'kcp' as const, reason: 'direct', why: 'kcp (fast2): direct UDP path: KCP repairs its loss; FEC parity sized from the measured loss (4.5 % loss, 40 ms RTT)', fec: true, fecReason: 'by-loss' } },
        { ...peerStatus.peers[1]!, channelMode: { mode: 'datagram' as const, reason: 'stream-leg', why: 'datagram: relayed over a TCP/TLS hub leg; FEC off (relayed)', fec: false, fecReason: 'relayed' } },
      ],
      fec: {
        '10.9.0.3': { k: 10, m: 3, why: "10+3: 4.50 % loss (receiver's report)", lossPct: 4.5, repaired: 120, unrecovered: 2, parityFrames: 300, overheadBytes: 420_000 },
      },
    };
    const out = formatStatus(s);
    expect(out).toMatch(/PEER +CHANNEL +FEC +WHY/);
    expect(out).toMatch(/b +kcp +10\+3 +kcp \(fast2\): direct UDP path.*; shape 10\+3: 4\.50 % loss \(receiver's report\); parity 300 frames \(410 KiB\), repaired 120, unrecovered 2\n/);
    expect(out).toMatch(/c +datagram +off +datagram: relayed over a TCP\/TLS hub leg; FEC off \(relayed\)\n/);
    // One line per peer: no separate FEC or advisory choice lines any more.
    expect(out).not.toMatch(/^fec |choice /m);
    expect(formatStatus(peerStatus)).not.toMatch(/CHANNEL/);
  });

  it('a clean direct pair shows FEC "none": the gate is open, the sizing adds no parity', () => {
    const out = formatStatus({
      ...peerStatus,
      peers: [{ ...peerStatus.peers[0]!, channelMode: { mode: 'kcp' as const, reason: 'direct', why: 'kcp: direct', fec: true, fecReason: 'by-loss' } }],
      fec: { '10.9.0.3': { k: 10, m: 0, why: 'off: 0.00 % loss (KCP retransmits)', repaired: 0, unrecovered: 0, parityFrames: 0, overheadBytes: 0 } },
    });
    expect(out).toMatch(/b +kcp +none +kcp: direct; shape off: 0\.00 % loss \(KCP retransmits\)\n/);
  });
});

describe('FEC in the status (issue 19)', () => {
  it('an older daemon\'s FEC entry without a channel decision still gets its row', () => {
    const out = formatStatus({ ...peerStatus, fec: { '10.9.0.3': { k: 10, m: 2, why: '10+2: 3.00 % loss', repaired: 5, unrecovered: 0, parityFrames: 9, overheadBytes: 9000 } } });
    expect(out).toMatch(/b +- +10\+2 +-; shape 10\+2: 3\.00 % loss; parity 9 frames/);
  });

  it('prints nothing for FEC when no pair has it (older daemons too)', () => {
    expect(formatStatus(peerStatus)).not.toContain('fec ');
    expect(formatStatus(peerStatus)).not.toContain('FEC');
  });
});
