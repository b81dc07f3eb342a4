// Idle ping overhead (issue 19 item 7): the ACK of a small request waits one event-loop turn so it
// can ride in the datagram of the reply. Before, B flushed the KCP ACK of a ping from a setImmediate
// as its own datagram, then read the echo reply from the TUN in the next turn and sent it in a second
// one: two seals, two sends and two opens at A per round trip. Now channels.ts flushes with holdAcks
// first; a lane that only owes such an ACK (kcp-channel.ts holdsAck) stays pending, and the next TUN
// batch (the reply, read in the poll phase of the next turn) flushes it with the data, or a second
// deferred flush sends it alone one turn later. No timer and no extra syscall; a transfer's lanes
// never hold (full segments in, or data of their own queued or in flight).

/** A lane holds its ACK only when it took at most this many bytes of KCP datagrams since its last
 * flush (local tuning: one segment of a keystroke or a ping with its headers and an ACK beside it;
 * a full segment is a transfer, whose sender's rate controller reads our ACK timing). */
export const ackHoldMaxInputBytes = 300;
