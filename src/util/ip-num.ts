// ip-num (CIDR parsing of user input, config/ and hub/registry.ts; IPv6 text, util/ipv6.ts) loaded through require: an ESM
// `import` of its CommonJS index costs ~20 MiB of resident memory for the life of the process
// (Node's named-export detection over its re-exports; measured 64 vs 43 MiB for the import alone),
// a fifth of a peer's RSS budget (issue 19 item 7). Import ip-num from here, never directly.
import { createRequire } from 'node:module';

const ipNum = createRequire(import.meta.url)('ip-num') as typeof import('ip-num');

export const IPv4CidrRange = ipNum.IPv4CidrRange;
export type IPv4CidrRange = import('ip-num').IPv4CidrRange;
export const Validator = ipNum.Validator;
export const IPv6 = ipNum.IPv6;
export type IPv6 = import('ip-num').IPv6;
export const collapseIPv6Number = ipNum.collapseIPv6Number;
