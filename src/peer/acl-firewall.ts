// The receiving peer's firewall (docs/ACL.md): the hub's latest ACL_POLICY for this peer, the flows
// this peer opened (flow-table.ts) and drops per rule. inbound.ts asks admit() before the TUN write;
// outbound.ts tells noteOutbound() what it sent; `meshd status` and the metrics read status().
import { ipProtoIcmp, ipProtoTcp } from '../tun/ip-packet.js';
import type { Clock } from '../util/clock.js';
import { AclMode, type AclPolicyMessage } from '../wire/acl.js';
import { aclVerdict, emptyFacts, outboundFlowKey, packetFacts, packetFacts6, replyFlowKey, type AclPolicy } from './acl-decide.js';
import { FlowTable, flowIdleMs } from './flow-table.js';

export interface AclStatus {
  mode: 'open' | 'enforce';
  /** The hub's policy version (0: none received yet). */
  version: number;
  rules: number;
  flows: number;
  /** Inbound packets let through as replies of flows this peer opened. */
  allowedAsReply: number;
  /** Drops by the rule that denied them (`rule N`, N as in the hub's policy file) or `default`. */
  drops: Record<string, number>;
}

export class AclFirewall {
  private policy: AclPolicy = { mode: AclMode.OPEN, rules: [] };
  private version: number | undefined;
  /** The policy in force as the hub sent it: the base ACL_POLICY_DELTA applies to (acl-receive.ts). */
  private wire: AclPolicyMessage | undefined;
  readonly flows: FlowTable;
  private readonly ruleDrops = new Map<number, number>();
  private defaultDrops = 0;
  private allowedAsReply = 0;
  /** Scratch header fields: one object for every packet. */
  private readonly f = emptyFacts();

  constructor(private readonly clock: Clock, flows = new FlowTable()) {
    this.flows = flows;
  }

  get enforcing(): boolean {
    return this.policy.mode === AclMode.ENFORCE;
  }

  /** Several hubs: home moved to another hub, whose versions are its own (peer/hub-set.ts); its
   * first policy replaces the one in force whatever its version (the old one stays until then). */
  newSource(): void {
    this.version = undefined;
    this.wire = undefined;
  }

  /** The policy in force, as received (undefined: none yet, or home moved to another hub). */
  held(): AclPolicyMessage | undefined {
    return this.wire;
  }

  /** A policy from the hub; false when it is not newer than the one in force (a late duplicate). */
  apply(m: AclPolicyMessage): boolean {
    if (this.version !== undefined && ((m.version - this.version) | 0) <= 0) return false;
    this.version = m.version >>> 0;
    this.wire = m;
    this.policy = {
      mode: m.mode,
      rules: m.rules.map((r) => ({ ...r, sources: r.sources === undefined ? undefined : new Set(r.sources) })),
    };
    if (m.mode === AclMode.OPEN) this.flows.clear();
    return true;
  }

  /** Outbound: a packet this peer sent (after the channel took it) keeps its flow open. An IPv6
   * packet needs `remote`, the receiving member's overlay IPv4 address (acl-decide.ts packetFacts6). */
  noteOutbound(packet: Uint8Array, remote?: number): void {
    if (this.policy.mode !== AclMode.ENFORCE || !this.facts(packet, 0, remote)) return;
    const key = outboundFlowKey(this.f);
    if (key === undefined) return;
    const idle = this.f.proto === ipProtoTcp ? flowIdleMs.tcp : this.f.proto === ipProtoIcmp ? flowIdleMs.icmp : flowIdleMs.udp;
    const now = this.clock.now();
    this.flows.note(this.f.dst, key, now + idle, now);
  }

  /** Inbound: true when the packet may reach the TUN; a denied one is counted under its rule. An
   * IPv6 packet is judged as between the members `from` and `to` (their overlay IPv4 addresses);
   * without them it is denied (fail closed). */
  admit(packet: Uint8Array, from?: number, to?: number): boolean {
    if (this.policy.mode === AclMode.OPEN) return true;
    if (!this.facts(packet, from, to)) {
      this.defaultDrops++;
      return false;
    }
    const now = this.clock.now();
    const key = replyFlowKey(this.f);
    const reply = key === undefined ? false : key === 'any' ? this.flows.hasRemote(this.f.src, now) : this.flows.has(this.f.src, key, now);
    const v = aclVerdict(this.policy, this.f, reply);
    if (v.allow) {
      if (v.by === 'flow') this.allowedAsReply++;
      return true;
    }
    if (v.by === 'default') this.defaultDrops++;
    else this.ruleDrops.set(v.by, (this.ruleDrops.get(v.by) ?? 0) + 1);
    return false;
  }

  private facts(packet: Uint8Array, src: number | undefined, dst: number | undefined): boolean {
    if (packet.byteLength > 0 && packet[0]! >> 4 === 6) {
      return src !== undefined && dst !== undefined && packetFacts6(packet, this.f, src, dst);
    }
    return packetFacts(packet, this.f);
  }

  status(): AclStatus {
    const drops: Record<string, number> = {};
    for (const [rule, n] of [...this.ruleDrops].sort((a, b) => a[0] - b[0])) drops[`rule ${rule}`] = n;
    drops.default = this.defaultDrops;
    return {
      mode: this.policy.mode === AclMode.ENFORCE ? 'enforce' : 'open',
      version: this.version ?? 0,
      rules: this.policy.rules.length,
      flows: this.flows.size,
      allowedAsReply: this.allowedAsReply,
      drops,
    };
  }
}
