// Hubs compare their --acl policies (issue 24, hub/cluster-acl.ts): the digest of a parsed policy,
// which live hubs differ, one log line per change, and two hubs on a real NATS node with different
// files seeing the mismatch in their cluster status (and agreeing once one reloads the other's file).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseAclPolicy } from '../../src/hub/acl-policy.js';
import { AclAgreement, aclDigestOf, aclMismatches } from '../../src/hub/cluster-acl.js';
import { clusterMetricsOf } from '../../src/hub/cluster-metrics.js';
import type { Logger } from '../../src/util/log.js';
import { natsSkipReason } from '../helpers/nats.js';
import { natsPairs, until } from '../helpers/nats-pair.js';

const policy = (text: string) => parseAclPolicy(text, 'acl.json');
const base = '{"tags": {"web": ["a", "b"]}, "rules": [{"from": "tag:web", "to": "*", "proto": "tcp", "ports": 443, "action": "allow"}]}';

describe('aclDigestOf', () => {
  it.each([
    ['the same policy spaced, commented and ordered differently (tag members, keys)', '{ "rules": [ {"action": "allow", "ports": 443, "proto": "tcp", "to": "*", "from": "tag:web", "comment": "x"} ],\n  "tags": {"web": ["b", "a"]} }', true],
    ['another port', base.replace('443', '22'), false],
    ['another tag member', base.replace('"b"', '"c"'), false],
    ['another action', base.replace('allow', 'deny'), false],
  ])('%s: same digest %s', (_why, text, same) => {
    expect(aclDigestOf(policy(text)) === aclDigestOf(policy(base))).toBe(same);
  });

  it('is 16 hex digits', () => {
    expect(aclDigestOf(policy(base))).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('aclMismatches', () => {
  it.each([
    ['all the same: none', 'd1', [['h2', 'd1'], ['h3', 'd1']], []],
    ['one differs: it, with its digest', 'd1', [['h2', 'd1'], ['h3', 'd2']], [{ hubId: 'h3', digest: 'd2' }]],
    ['no --acl here, one there: it (null is shown as none)', undefined, [['h2', 'd1']], [{ hubId: 'h2', digest: 'd1' }]],
    ['an --acl here, none there: it, digest null', 'd1', [['h2', undefined]], [{ hubId: 'h2', digest: null }]],
    ['no --acl anywhere (and hubs too old to publish one): none', undefined, [['h2', undefined]], []],
    ['sorted by hub id', 'd1', [['h9', 'x'], ['h2', 'y']], [{ hubId: 'h2', digest: 'y' }, { hubId: 'h9', digest: 'x' }]],
  ] as const)('%s', (_why, own, others, want) => {
    expect(aclMismatches(own, others)).toEqual(want);
  });
});

function recordingLogger(): { log: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
  return { log, lines };
}

describe('AclAgreement', () => {
  it('logs a mismatch once per change, and once when the hubs agree again', () => {
    const { log, lines } = recordingLogger();
    const a = new AclAgreement(log);
    a.note('d1', []);
    expect(lines).toHaveLength(0); // agreement from the start: nothing to say
    a.note('d1', [{ hubId: 'h2', digest: 'd2' }]);
    a.note('d1', [{ hubId: 'h2', digest: 'd2' }]);
    expect(lines.map((l) => l.level)).toEqual([40]);
    a.note('d1', [{ hubId: 'h2', digest: 'd2' }, { hubId: 'h3', digest: null }]);
    expect(lines).toHaveLength(2);
    a.note('d1', []);
    a.note('d1', []);
    expect(lines.map((l) => l.level)).toEqual([40, 40, 30]);
    expect(lines[2]!.msg).toMatch(/same --acl policy again/);
  });
});

const skip = natsSkipReason();
describe.skipIf(skip !== undefined)('two hubs with different --acl files on a real NATS node', () => {
  const nats = natsPairs();
  it('each sees the other differ (status and metric); after one reloads the other\'s file they agree', async () => {
    const d1 = aclDigestOf(policy(base));
    const d2 = aclDigestOf(policy(base.replace('443', '22')));
    const [a, b] = await nats.pair((hubId) => ({ aclDigest: hubId === 'hub-a' ? d1 : d2, presenceTtlMs: 2_000 }));
    await until(() => a.status()!.acl!.mismatched.length === 1 && b.status()!.acl!.mismatched.length === 1);
    expect(a.status()!.acl).toEqual({ digest: d1, mismatched: [{ hubId: 'hub-b', digest: d2 }] });
    expect(b.status()!.acl).toEqual({ digest: d2, mismatched: [{ hubId: 'hub-a', digest: d1 }] });
    expect(clusterMetricsOf(a.status()!, undefined).aclMismatch).toBe(1);
    // hub-b reloads hub-a's file (SIGHUP): published with its next presence, both agree.
    b.setAclDigest!(d1);
    await until(() => a.status()!.acl!.mismatched.length === 0);
    expect(b.status()!.acl).toEqual({ digest: d1, mismatched: [] });
    expect(clusterMetricsOf(a.status()!, undefined).aclMismatch).toBe(0);
  }, 30_000);
});
