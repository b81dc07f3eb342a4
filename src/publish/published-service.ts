// One published service as the hub holds it (a listener, its visitor connections and counters) and
// its status JSON (`meshd status`). Records and the status mapping only: admission and listening are
// publish/hub-publisher.ts, visitor connections publish/visitor-conns.ts.
import type { Server } from 'node:net';
import type { ConnTally } from './conn-summary.js';
import type { KcpStream } from './kcp-stream.js';
import type { PublishMember } from './publisher-options.js';

export interface PublishedConnStatus {
  conv: number;
  visitor: string;
  bytesIn: number;
  bytesOut: number;
  waitSnd: number;
}

export interface PublishedServiceStatus {
  name: string;
  port: number;
  owner: string;
  ownerName: string;
  listening: boolean;
  connections: number;
  totalConnections: number;
  refusedConnections: number;
  /** Refused visitors by reason: service-full, ip-full, rate, table-full, peer-gone. */
  refusedBy: Record<string, number>;
  /** Connections closed for idleness, or reset by the buffer budget. */
  idleClosed: number;
  budgetResets: number;
  /** visitor -> peer, and peer -> visitor, over the service's life (closed connections included). */
  bytesIn: number;
  bytesOut: number;
  conns: PublishedConnStatus[];
  /** Several hubs: the service of a member homed on another hub, served here over its standby session. */
  guest?: boolean;
}

export interface Conn {
  stream: KcpStream;
  visitor: string;
  ip: string;
  service: Service;
}

export interface Service {
  name: string;
  port: number;
  owner: PublishMember;
  server: Server;
  listening: boolean;
  conns: Map<number, Conn>;
  total: number;
  refused: number;
  refusedBy: Record<string, number>;
  idleClosed: number;
  budgetResets: number;
  bytesInClosed: number;
  bytesOutClosed: number;
  tally: ConnTally;
  /** A service of a member homed on another hub, listened for from the claims (guest-plan.ts). */
  guest?: boolean;
}

/** The status of one service (own or guest), its open connections included. */
export function serviceStatus(s: Service): PublishedServiceStatus {
  const conns = [...s.conns.values()].map((c) => ({
    conv: c.stream.conv, visitor: c.visitor, bytesIn: c.stream.bytesSent, bytesOut: c.stream.bytesReceived, waitSnd: c.stream.waitSnd,
  }));
  return {
    name: s.name, port: s.port, owner: Buffer.from(s.owner.publicKey).toString('base64'), ownerName: s.owner.name, listening: s.listening, ...(s.guest ? { guest: true } : {}),
    connections: s.conns.size, totalConnections: s.total, refusedConnections: s.refused, refusedBy: { ...s.refusedBy },
    idleClosed: s.idleClosed, budgetResets: s.budgetResets,
    bytesIn: s.bytesInClosed + conns.reduce((a, c) => a + c.bytesIn, 0),
    bytesOut: s.bytesOutClosed + conns.reduce((a, c) => a + c.bytesOut, 0),
    conns,
  };
}
