// The hub's ACL policy file (--acl FILE, docs/ACL.md): JSON read and validated here, pure, with
// one-line errors naming the file and the rule; acl-compile.ts turns it into each member's rules.
//
//   { "tags":  { "web": ["b", "c"] },                    tag -> member names
//     "rules": [ { "from": "*", "to": "tag:web", "proto": "tcp", "ports": [80, "8000-8100"],
//                  "action": "allow", "comment": "..." } ] }
//   from/to   "*", "tag:NAME", a member name or an overlay IPv4 address (one or a list)
//   proto     tcp | udp | icmp | any (default any);  ports only with tcp or udp (default all)
//   action    allow (default) | deny;  first matching rule wins; nothing matches: denied
import { ConfigError } from '../util/errors.js';
import { ipv4ToU32 } from '../util/ipv4.js';
import { AclAction, type AclProto } from '../wire/acl.js';

export type AclSelector = { any: true } | { tag: string } | { name: string } | { address: number };

export interface AclPolicyRule {
  /** 1-based position in the file: drops are counted under it on the peers. */
  rule: number;
  from: AclSelector[];
  to: AclSelector[];
  proto: AclProto;
  ports: Array<[number, number]>;
  action: AclAction;
}

export interface AclPolicyFile {
  tags: Map<string, Set<string>>;
  rules: AclPolicyRule[];
}

/** Protocol-independent cap: a policy longer than this is a mistake, not a network. */
export const maxAclRules = 1000;

const protoOf: Record<string, AclProto> = { any: 0, icmp: 1, tcp: 6, udp: 17 };
const ruleKeys = new Set(['from', 'to', 'proto', 'ports', 'action', 'comment']);

function list(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [x];
}

/** Pure: the policy file's text -> the policy; throws ConfigError('--acl', 'FILE: rule N: why'). */
export function parseAclPolicy(text: string, file: string): AclPolicyFile {
  const fail = (where: string, why: string): never => {
    throw new ConfigError('--acl', `${file}: ${where}${why}`);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return fail('', `not JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return fail('', 'expected an object with "rules" (and optional "tags")');
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'tags' && k !== 'rules' && k !== 'comment') fail('', `unknown key "${k}"`);
  const tags = new Map<string, Set<string>>();
  if (o.tags !== undefined) {
    if (typeof o.tags !== 'object' || o.tags === null || Array.isArray(o.tags)) fail('', '"tags" must map a tag to a list of member names');
    for (const [tag, names] of Object.entries(o.tags as Record<string, unknown>)) {
      if (!/^[A-Za-z0-9_.-]{1,63}$/.test(tag)) fail(`tag "${tag}": `, 'a tag is 1-63 letters, digits, _ . -');
      if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n === '')) fail(`tag "${tag}": `, 'expected a list of member names');
      tags.set(tag, new Set(names as string[]));
    }
  }
  if (!Array.isArray(o.rules)) return fail('', '"rules" must be a list');
  if (o.rules.length > maxAclRules) fail('', `more than ${maxAclRules} rules`);
  const rules = o.rules.map((r: unknown, i: number): AclPolicyRule => {
    const n = i + 1;
    const where = `rule ${n}: `;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) return fail(where, 'expected an object');
    const x = r as Record<string, unknown>;
    for (const k of Object.keys(x)) if (!ruleKeys.has(k)) fail(where, `unknown key "${k}" (from, to, proto, ports, action, comment)`);
    const selectors = (key: 'from' | 'to'): AclSelector[] => {
      if (x[key] === undefined) fail(where, `"${key}" is missing`);
      const out = list(x[key]).map((s): AclSelector => {
        if (typeof s !== 'string' || s === '') return fail(where, `"${key}": expected "*", "tag:NAME", a member name or an address`);
        if (s === '*') return { any: true };
        if (s.startsWith('tag:')) {
          const tag = s.slice(4);
          if (!tags.has(tag)) fail(where, `"${key}": tag "${tag}" is not defined in "tags"`);
          return { tag };
        }
        if (/^\d+\.\d+\.\d+\.\d+$/.test(s)) {
          try {
            return { address: ipv4ToU32(s) };
          } catch {
            return fail(where, `"${key}": "${s}" is not an IPv4 address`);
          }
        }
        return { name: s };
      });
      if (out.length === 0) fail(where, `"${key}" is empty`);
      return out;
    };
    const protoName = x.proto === undefined ? 'any' : x.proto;
    if (typeof protoName !== 'string' || !(protoName in protoOf)) fail(where, `"proto" must be tcp, udp, icmp or any, not ${JSON.stringify(x.proto)}`);
    const proto = protoOf[protoName as string]!;
    const ports: Array<[number, number]> = [];
    if (x.ports !== undefined) {
      if (proto !== 6 && proto !== 17) fail(where, '"ports" needs "proto": "tcp" or "udp"');
      for (const p of list(x.ports)) {
        const m = typeof p === 'number' ? [String(p), String(p)] : typeof p === 'string' ? /^(\d+)(?:-(\d+))?$/.exec(p)?.slice(1) : undefined;
        const lo = Number(m?.[0]);
        const hi = m?.[1] === undefined ? lo : Number(m[1]);
        if (!m || !Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi > 65535 || lo > hi) fail(where, `port ${JSON.stringify(p)} is not a port or range within 1-65535`);
        ports.push([lo, hi]);
      }
      if (ports.length === 0) fail(where, '"ports" is empty');
    } else ports.push([0, 65535]);
    const action = x.action === undefined || x.action === 'allow' ? AclAction.ALLOW : x.action === 'deny' ? AclAction.DENY : fail(where, `"action" must be allow or deny, not ${JSON.stringify(x.action)}`);
    return { rule: n, from: selectors('from'), to: selectors('to'), proto, ports, action };
  });
  return { tags, rules };
}
