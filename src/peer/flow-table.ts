// The flows this peer opened (outbound.ts notes each packet it sends while a policy is enforced), so
// replies pass the ACL without a rule (acl-firewall.ts). Keyed by remote overlay address, then a
// numeric flow key (acl-decide.ts outboundFlowKey): no allocation per packet once a flow exists.
// Bounded: at `max` entries the expired ones are swept (at most once a second), else the oldest goes.

/** Local tuning: idle time after which a flow's replies need a rule again (conntrack-like, shorter). */
export const flowIdleMs = { tcp: 300_000, udp: 60_000, icmp: 30_000 } as const;
/** Local tuning: flows remembered at most (about 100 bytes each). */
export const flowTableMaxEntries = 65_536;
const sweepEveryMs = 1000;

export class FlowTable {
  private readonly byRemote = new Map<number, Map<number, number>>();
  private n = 0;
  private lastSweepMs = -Infinity;
  /** Live flows pushed out because the table was full. */
  evictions = 0;

  constructor(private readonly max = flowTableMaxEntries) {}

  get size(): number {
    return this.n;
  }

  /** A packet of the flow went out: it lives until `expiresMs`. */
  note(remote: number, key: number, expiresMs: number, nowMs: number): void {
    let flows = this.byRemote.get(remote);
    if (flows?.has(key)) {
      flows.set(key, expiresMs);
      return;
    }
    if (this.n >= this.max) this.makeRoom(nowMs);
    if (!flows) {
      flows = new Map();
      this.byRemote.set(remote, flows);
    }
    flows.set(key, expiresMs);
    this.n++;
  }

  /** True when the flow is live (an expired one is forgotten). */
  has(remote: number, key: number, nowMs: number): boolean {
    const flows = this.byRemote.get(remote);
    const exp = flows?.get(key);
    if (exp === undefined) return false;
    if (exp > nowMs) return true;
    this.remove(remote, flows!, key);
    return false;
  }

  /** True when any live flow goes to `remote` (ICMP errors about our traffic). */
  hasRemote(remote: number, nowMs: number): boolean {
    const flows = this.byRemote.get(remote);
    if (!flows) return false;
    for (const exp of flows.values()) if (exp > nowMs) return true;
    return false;
  }

  /** Forgets expired flows; returns how many. */
  sweep(nowMs: number): number {
    let k = 0;
    for (const [remote, flows] of this.byRemote) {
      for (const [key, exp] of flows) {
        if (exp <= nowMs) {
          this.remove(remote, flows, key);
          k++;
        }
      }
    }
    return k;
  }

  clear(): void {
    this.byRemote.clear();
    this.n = 0;
  }

  private makeRoom(nowMs: number): void {
    if (nowMs - this.lastSweepMs >= sweepEveryMs) {
      this.lastSweepMs = nowMs;
      if (this.sweep(nowMs) > 0) return;
    }
    // Still full of live flows: the oldest remote's oldest flow goes (Map order is insertion order).
    for (const [remote, flows] of this.byRemote) {
      for (const key of flows.keys()) {
        this.remove(remote, flows, key);
        this.evictions++;
        return;
      }
    }
  }

  private remove(remote: number, flows: Map<number, number>, key: number): void {
    if (flows.delete(key)) this.n--;
    if (flows.size === 0) this.byRemote.delete(remote);
  }
}
