// Picks the UdpSocket the daemons bind (peer/run.ts, hub/run.ts): the batched native socket
// (net/udp-native.ts, recvmmsg/sendmmsg) on Linux when its addon loads, else node:dgram
// (net/udp-node.ts). MESHD_UDP=native|node forces one, for A/B measurements or to rule one out.
import { ConfigError } from '../util/errors.js';
import type { Endpoint, UdpCounters, UdpSocket } from './udp.js';
import { nativeUdpUnavailable, openNativeUdp } from './udp-native.js';
import { defaultSocketBufferBytes, openUdp, type UdpOptions } from './udp-node.js';

export type UdpImpl = 'native' | 'node';

export interface CountedUdpSocket extends UdpSocket {
  readonly counters: UdpCounters;
  readonly impl: UdpImpl;
}

/**
 * The implementation to use: `forced` (MESHD_UDP) when set, else native when available. Throws
 * (code UDP_BAD_IMPL, UDP_NO_ADDON) for an unknown name or a forced native socket that cannot load.
 */
export function chooseUdpImpl(forced: string | undefined, unavailable: string | undefined): UdpImpl {
  if (forced === undefined || forced === '') return unavailable === undefined ? 'native' : 'node';
  if (forced === 'node') return 'node';
  if (forced !== 'native') throw Object.assign(new Error(`must be native or node (got "${forced}")`), { code: 'UDP_BAD_IMPL' });
  if (unavailable !== undefined) throw Object.assign(new Error(`native requested, but ${unavailable}`), { code: 'UDP_NO_ADDON' });
  return 'native';
}

/** Binds an IPv4 UDP socket (port 0 picks a free one) with 4 MiB buffers unless `opts` says otherwise. */
export async function openUdpSocket(bind: Endpoint, opts: UdpOptions & { impl?: UdpImpl } = {}): Promise<CountedUdpSocket> {
  const impl = opts.impl ?? chooseUdpImpl(process.env['MESHD_UDP'], nativeUdpUnavailable());
  const recv = opts.recvBufferBytes ?? defaultSocketBufferBytes;
  const send = opts.sendBufferBytes ?? defaultSocketBufferBytes;
  return impl === 'native' ? openNativeUdp(bind, recv, send) : openUdp(bind, { recvBufferBytes: recv, sendBufferBytes: send });
}

/**
 * The one-line error for a socket the daemon could not open: it names MESHD_UDP when the switch was
 * the cause, else --listen with the system's code (EADDRINUSE, EACCES...).
 */
export function udpOpenError(e: unknown, bind: Endpoint): ConfigError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'UDP_BAD_IMPL' || code === 'UDP_NO_ADDON') return new ConfigError('MESHD_UDP', (e as Error).message);
  return new ConfigError('--listen', `cannot bind ${bind.address}:${bind.port}: ${code ?? String(e)}`);
}
