// Fixed status answers shared by the formatting and command tests.
import type { HubStatusJson, PeerStatusJson } from '../../src/ops/status-types.js';

const keyA = 'QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=';
const keyB = 'YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI=';
const keyC = 'Y2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2M=';
const keyD = 'ZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGQ=';

export const peerStatus: PeerStatusJson = {
  role: 'peer',
  version: '0.1.0',
  name: 'a',
  address: '10.9.0.2/24',
  publicKey: keyA,
  tun: 'meshd0',
  mtu: 1378,
  transport: 'kcp',
  listen: '0.0.0.0:41641',
  uptimeMs: 7_384_000,
  hub: { endpoint: '203.0.113.2:7000', registered: true, reflexive: '198.51.100.2:41641', lastHeardMsAgo: 3_200 },
  traffic: { rxPackets: 1200, rxBytes: 1_610_000, txPackets: 950, txBytes: 330_000 },
  drops: { not_ipv4: 0, no_path: 3, queue_full: 1 },
  peers: [
    {
      name: 'b', address: '10.9.0.3', publicKey: keyB, path: 'direct', endpoint: '198.51.100.7:41641', rttMs: 1.234, lossPct: 0,
      rxPackets: 1000, rxBytes: 1_572_864, txPackets: 900, txBytes: 327_680, lastHeardMsAgo: 2_100, lastHandshakeMsAgo: 75_000, kcpRetransmits: 4,
    },
    {
      name: 'c', address: '10.9.0.4', publicKey: keyC, path: 'relay', endpoint: '203.0.113.2:7000', rttMs: 31.6, lossPct: 2.4,
      rxPackets: 200, rxBytes: 512, txPackets: 50, txBytes: 2_048, lastHeardMsAgo: 12_900, lastHandshakeMsAgo: 3_700_000, kcpRetransmits: 0,
    },
    {
      name: 'd', address: '10.9.0.5', publicKey: keyD, path: null, endpoint: null, rttMs: null, lossPct: null,
      rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, lastHeardMsAgo: null, lastHandshakeMsAgo: null, kcpRetransmits: 0,
    },
  ],
};

export const hubStatus: HubStatusJson = {
  role: 'hub',
  version: '0.1.0',
  publicKey: keyD,
  listen: '0.0.0.0:7000',
  network: '10.9.0.0/24',
  uptimeMs: 300_000,
  mapVersion: 12,
  relayedBytes: 1_258_291,
  relayedPackets: 900,
  members: [
    { name: 'a', address: '10.9.0.2', publicKey: keyA, reflexive: '198.51.100.2:41641', lan: ['192.0.2.2:41641'], lastHeartbeatMsAgo: 3_000, registeredMsAgo: 290_000, relayedBytes: 0 },
    {
      name: 'c', address: '10.9.0.4', publicKey: keyC, reflexive: '198.51.100.10:5123', lan: ['192.0.2.18:41641', '172.17.0.1:41641'], lastHeartbeatMsAgo: 19_500,
      registeredMsAgo: 100_000_000, relayedBytes: 1_258_291,
    },
  ],
};
