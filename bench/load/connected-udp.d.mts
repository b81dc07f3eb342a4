// Types of connected-udp.mjs (a virtual peer's socket connected to its hub), for test/bench/connected-udp.test.ts.
import type { Endpoint, UdpCounters, UdpSocket } from '../../src/net/udp.js';
export interface ConnectedUdp extends UdpSocket {
  readonly counters: UdpCounters & { elsewhere: number };
}
export function openConnectedUdp(address: string, hub: Endpoint, opts?: { recvBufferBytes?: number; sendBufferBytes?: number }): Promise<ConnectedUdp>;
