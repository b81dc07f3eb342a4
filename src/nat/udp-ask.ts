// One question over UDP from a fresh socket, as the port-mapping code asks them (nat/port-map.ts's
// detection, nat/port-map-client.ts's PCP and NAT-PMP requests): the request goes out at once and
// again every resendMs (UDP on a home LAN loses packets too), the first answer the caller accepts
// ends it, and the socket is closed whatever happens. Who may answer is the caller's rule: a mapping
// request believes only the gateway's port, an SSDP search any host on the link.
import type { Endpoint, UdpSocket } from '../net/udp.js';
import type { Clock } from '../util/clock.js';
import { DecodeError } from '../util/errors.js';

export interface UdpQuestion<T> {
  openSocket: () => Promise<UdpSocket>;
  clock: Clock;
  to: Endpoint;
  /** The request, built for the socket it leaves from (PCP's carries the socket's address). */
  request: (s: UdpSocket) => Uint8Array;
  /** An answer's value, or undefined when it is not an answer to us (keep waiting). A DecodeError
   * means the same; any other error ends the question with that error. */
  accept: (d: Uint8Array, from: Endpoint) => T | undefined;
  /** Sends happen at 0, resendMs, 2 x resendMs, ... while before timeoutMs. */
  resendMs: number;
  timeoutMs: number;
}

/** The first accepted answer's value, or undefined when none came within timeoutMs. */
export async function askUdp<T>(q: UdpQuestion<T>): Promise<T | undefined> {
  const s = await q.openSocket();
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      const timers: unknown[] = [];
      let over = false;
      const end = (): void => {
        over = true;
        for (const t of timers) q.clock.clearTimer(t);
      };
      s.onMessage((d, from) => {
        if (over) return;
        let v: T | undefined;
        try {
          v = q.accept(d, from);
        } catch (e) {
          if (e instanceof DecodeError) return;
          end();
          reject(e);
          return;
        }
        if (v === undefined) return;
        end();
        resolve(v);
      });
      const req = q.request(s);
      const step = Math.max(1, q.resendMs);
      for (let at = 0; at < q.timeoutMs; at += step) timers.push(q.clock.setTimer(at, () => s.send(req, q.to)));
      timers.push(q.clock.setTimer(q.timeoutMs, () => {
        end();
        resolve(undefined);
      }));
    });
  } finally {
    await s.close();
  }
}
