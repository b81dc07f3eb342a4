// ACL_POLICY from the hub (wire/acl.ts) -> the peer's firewall (acl-firewall.ts). node.ts hands over
// every CONTROL body of type 40 that came on the hub's authenticated session; a policy is ACKed
// (a stale duplicate too, so the hub stops resending), a malformed one is counted and not ACKed.
import { DecodeError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { decodeAclPolicy } from '../wire/acl.js';
import type { AclFirewall } from './acl-firewall.js';

export class AclReceiver {
  readonly counters = { applied: 0, stale: 0, malformed: 0 };

  constructor(
    private readonly firewall: Pick<AclFirewall, 'apply'>,
    private readonly ack: (seq: number) => void,
    private readonly log: Logger,
  ) {}

  receive(body: Uint8Array): void {
    let m;
    try {
      m = decodeAclPolicy(body);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      this.counters.malformed++;
      this.log.debug({ err: e.message }, 'acl: malformed policy from the hub dropped');
      return;
    }
    this.ack(m.seq);
    if (!this.firewall.apply(m)) {
      this.counters.stale++;
      return;
    }
    this.counters.applied++;
    this.log.info({ version: m.version, mode: m.mode === 1 ? 'enforce' : 'open', rules: m.rules.length }, 'acl: policy from the hub applied');
  }
}
