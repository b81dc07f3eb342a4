// Joins a TCP socket (node:net) and a KcpStream both ways: backpressure each way (socket.pause on a
// full stream, pauseDelivery on a full socket), half-close (end <-> FIN), and errors on one side
// close the other with a reason. Used on the hub (visitor) and the peer (local target).
import type { Socket } from 'node:net';
import type { KcpStream } from './kcp-stream.js';

export interface PipeEvents {
  /** Once, when the stream closed: undefined = clean, else why. */
  closed(reason: string | undefined): void;
}

/** `side` names the socket in reasons ("visitor 203.0.113.9:40000", "target 127.0.0.1:80"). */
export function pipeSocket(sock: Socket, stream: KcpStream, side: string, ev: PipeEvents): void {
  let sockEnded = false; // the socket's peer finished sending
  let sockError: string | undefined;
  stream.handlers = {
    onData: (chunk) => {
      if (!sock.write(Buffer.from(chunk))) stream.pauseDelivery();
    },
    onEnd: () => sock.end(),
    onDrain: () => sock.resume(),
    onClose: (reason) => {
      if (reason !== undefined) sock.destroy();
      else sock.end();
      ev.closed(reason);
    },
  };
  sock.on('data', (b: Buffer) => {
    if (!stream.write(b)) sock.pause();
  });
  sock.on('drain', () => stream.resumeDelivery());
  sock.on('end', () => {
    sockEnded = true;
    stream.end();
  });
  sock.on('error', (e: NodeJS.ErrnoException) => {
    sockError = `${side}: ${e.code ?? e.message}`;
  });
  sock.on('close', () => {
    if (stream.closed) return;
    // Both directions finished cleanly: the stream completes on its own once the FINs are acked.
    if (sockError === undefined && sockEnded && sock.writableEnded) return;
    stream.reset(sockError ?? `${side} closed the connection`);
  });
}
