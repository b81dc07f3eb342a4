// A socket in front of another that hands some datagrams to someone else first: `take` sees each
// datagram before the handler and returns true when it consumed it (the hub's NAT probes and
// hub-to-hub frames never reach the link). Sending and closing go straight to the socket below.
import type { Endpoint, UdpHandler, UdpSocket } from './udp.js';

export function takeFirst(main: UdpSocket, take: (data: Buffer, from: Endpoint) => boolean): UdpSocket {
  return {
    local: main.local,
    send: (data, to) => main.send(data, to),
    copiesOnSend: (to) => main.copiesOnSend?.(to) ?? false,
    close: () => main.close(),
    onMessage(handler: UdpHandler) {
      main.onMessage((d, from) => {
        if (!take(d, from)) handler(d, from);
      });
    },
  };
}
