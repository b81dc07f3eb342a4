// Hubs sharing NATS compare their --acl policies (issue 24): each publishes a digest of its parsed
// policy with its presence (hub/nats-presence.ts); a hub whose digest differs from a live other
// hub's says so in `meshd status`, in meshd_cluster_acl_mismatch, and in its log once per change.
// Pure except AclAgreement's log line. Every hub must load the same --acl file: with different files
// a pair of members is allowed or refused depending on which hub they are homed on.
import { createHash } from 'node:crypto';
import type { Logger } from '../util/log.js';
import type { AclPolicyFile } from './acl-policy.js';

/** The digest of a parsed policy (pure): the same rules and tags give the same digest, whatever the
 * file's spacing, comments or key order; rule order counts (first match wins). 16 hex digits. */
export function aclDigestOf(p: AclPolicyFile): string {
  const tags = [...p.tags].map(([t, members]) => [t, [...members].sort()] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const rules = p.rules.map((r) => ({ from: r.from, to: r.to, proto: r.proto, ports: r.ports, action: r.action }));
  return createHash('sha256').update('meshd acl v1\0').update(JSON.stringify({ tags, rules })).digest('hex').slice(0, 16);
}

/** A live other hub whose policy differs from this hub's (digest null: it loads no --acl). */
export interface AclMismatch {
  hubId: string;
  digest: string | null;
}

/** The live other hubs whose digest differs from `own` (pure; undefined = no --acl), sorted by id. */
export function aclMismatches(own: string | undefined, others: Iterable<readonly [string, string | undefined]>): AclMismatch[] {
  const out: AclMismatch[] = [];
  for (const [hubId, digest] of others) if (digest !== own) out.push({ hubId, digest: digest ?? null });
  return out.sort((a, b) => (a.hubId < b.hubId ? -1 : a.hubId > b.hubId ? 1 : 0));
}

/** Logs the mismatches when they change (not every refresh): a warning naming the hubs, and one line
 * when the hubs agree again. */
export class AclAgreement {
  private last = '';

  constructor(private readonly log: Logger) {}

  note(own: string | undefined, mismatched: readonly AclMismatch[]): void {
    const key = `${own ?? '-'}|${mismatched.map((m) => `${m.hubId}=${m.digest ?? '-'}`).join(',')}`;
    if (key === this.last) return;
    const was = this.last;
    this.last = key;
    if (mismatched.length > 0) {
      this.log.warn({ acl: own ?? null, hubs: mismatched }, 'cluster: other hubs load a different --acl policy; members are allowed or refused depending on their home hub (give every hub the same file)');
    } else if (was !== '' && !was.endsWith('|')) {
      this.log.info({ acl: own ?? null }, 'cluster: every live hub loads the same --acl policy again');
    }
  }
}
