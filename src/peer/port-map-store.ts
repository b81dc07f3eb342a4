// The port mapping a peer holds, kept in its state dir (portmap.json) so the next start deletes a
// mapping a crash left on the gateway (nat/port-mapper.ts deleteLeftover). Written atomically; read
// without following a symlink; a file that does not parse is treated as absent (and overwritten).
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readFileNoFollow, writeFileAtomic } from '../config/write-atomic.js';
import type { PortMapRecord, PortMapStore } from '../nat/port-mapper.js';
import type { Logger } from '../util/log.js';

export function portMapPath(stateDir: string): string {
  return join(stateDir, 'portmap.json');
}

const protocols = new Set(['pcp', 'natpmp', 'upnp']);
const isPort = (p: unknown): p is number => Number.isInteger(p) && (p as number) > 0 && (p as number) < 65536;
const isIpv4 = (a: unknown): a is string => typeof a === 'string' && /^\d{1,3}(\.\d{1,3}){3}$/.test(a);

/** Pure: the record in `text`, or undefined when it is not one (every field checked). */
export function parsePortMapRecord(text: string): PortMapRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = v as Partial<PortMapRecord> | null;
  if (!r || typeof r !== 'object' || !protocols.has(r.protocol as string) || !isIpv4(r.gateway) || !isPort(r.internalPort)) return undefined;
  if (!r.external || !isIpv4(r.external.address) || !isPort(r.external.port) || typeof r.expiresAtWall !== 'number') return undefined;
  const extra = r.extra && typeof r.extra === 'object' ? Object.fromEntries(Object.entries(r.extra).filter(([, x]) => typeof x === 'string')) : {};
  if (extra.client !== undefined && !isIpv4(extra.client)) return undefined;
  if (extra.nonce !== undefined && !/^[0-9a-f]{24}$/.test(extra.nonce)) return undefined;
  return { protocol: r.protocol!, gateway: r.gateway, internalPort: r.internalPort, external: { address: r.external.address, port: r.external.port }, expiresAtWall: r.expiresAtWall, extra };
}

export function filePortMapStore(stateDir: string, log: Logger): PortMapStore {
  const path = portMapPath(stateDir);
  return {
    load() {
      try {
        const text = readFileNoFollow(path);
        return text === undefined ? undefined : parsePortMapRecord(text);
      } catch (e) {
        log.warn({ err: e, path }, 'port map: cannot read the state file');
        return undefined;
      }
    },
    save(r) {
      try {
        if (r) writeFileAtomic(path, `${JSON.stringify(r)}\n`);
        else unlinkSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ err: e, path }, 'port map: cannot write the state file');
      }
    },
  };
}
