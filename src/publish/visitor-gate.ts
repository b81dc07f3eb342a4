// Admission of visitor TCP connections on the hub's published ports, per visitor IP: at most
// maxPerIp open connections and an accept rate (token bucket). Pure decisions on `now`; the table
// is bounded (swept at most once a second; full = refuse, like an overloaded accept queue).
// Used by hub-publisher.ts for every service (one visitor cannot take all of a service's slots).
import { TokenBucket } from '../util/token-bucket.js';

/** Local tuning: open connections one visitor IP may hold across all services. */
export const defaultMaxConnsPerIp = 16;
/** Local tuning: new connections per second per visitor IP, and the burst allowed on top. */
export const defaultAcceptsPerSec = 8;
export const acceptBurstFactor = 4;
/** Local tuning: visitor IPs remembered at once (~100 B each); past it new IPs are refused. */
export const maxTrackedIps = 16_384;
/** Local tuning: how often the table may be swept of idle, refilled entries. */
export const gateSweepMs = 1_000;

export type VisitorVerdict = 'ok' | 'service-full' | 'ip-full' | 'rate' | 'table-full';

/** The decision for one new connection, in the order a visitor would want it explained. */
export function decideVisitor(x: {
  serviceConns: number;
  maxPerService: number;
  ipConns: number;
  maxPerIp: number;
  tokenTaken: boolean;
  tracked: boolean;
}): VisitorVerdict {
  if (!x.tracked) return 'table-full';
  if (x.serviceConns >= x.maxPerService) return 'service-full';
  if (x.ipConns >= x.maxPerIp) return 'ip-full';
  if (!x.tokenTaken) return 'rate';
  return 'ok';
}

interface IpEntry {
  bucket: TokenBucket;
  conns: number;
}

export interface VisitorGateOptions {
  maxPerIp?: number;
  acceptsPerSec?: number;
  maxIps?: number;
}

export class VisitorGate {
  private readonly ips = new Map<string, IpEntry>();
  private lastSweep = -Infinity;
  readonly maxPerIp: number;
  readonly ratePerSec: number;
  private readonly burst: number;
  private readonly maxIps: number;

  constructor(o: VisitorGateOptions = {}) {
    this.maxPerIp = o.maxPerIp ?? defaultMaxConnsPerIp;
    this.ratePerSec = o.acceptsPerSec ?? defaultAcceptsPerSec;
    this.burst = Math.max(1, this.ratePerSec * acceptBurstFactor);
    this.maxIps = o.maxIps ?? maxTrackedIps;
  }

  get trackedIps(): number {
    return this.ips.size;
  }

  /** Decides a new connection from `ip`; on 'ok' the caller must call release(ip) when it closes. */
  admit(ip: string, now: number, serviceConns: number, maxPerService: number): VisitorVerdict {
    let e = this.ips.get(ip);
    if (!e && this.ips.size >= this.maxIps) this.sweep(now);
    const tracked = e !== undefined || this.ips.size < this.maxIps;
    if (!e && tracked) this.ips.set(ip, (e = { bucket: new TokenBucket(this.ratePerSec, this.burst, now), conns: 0 }));
    const v = decideVisitor({
      serviceConns, maxPerService, ipConns: e?.conns ?? 0, maxPerIp: this.maxPerIp, tracked,
      // A token is spent only when the caps pass: refused attempts do not lock a visitor out longer.
      tokenTaken: e !== undefined && serviceConns < maxPerService && e.conns < this.maxPerIp && e.bucket.take(now),
    });
    if (v === 'ok') e!.conns++;
    return v;
  }

  release(ip: string): void {
    const e = this.ips.get(ip);
    if (e && e.conns > 0) e.conns--;
  }

  /** Forgets IPs with no connection whose bucket has refilled (they would start afresh anyway). */
  sweep(now: number): void {
    if (now - this.lastSweep < gateSweepMs) return;
    this.lastSweep = now;
    for (const [ip, e] of this.ips) {
      if (e.conns === 0 && e.bucket.idle(now)) this.ips.delete(ip);
    }
  }
}
