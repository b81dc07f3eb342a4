// IPv4 addresses as unsigned 32-bit numbers, the form the data path compares and the codecs carry.
// Parsing and validation of user input go through ip-num; this file is the fast numeric form.
import { IPv4, Validator } from 'ip-num';

/** "10.9.0.2" -> 0x0a090002, or throws TypeError. */
export function ipv4ToU32(s: string): number {
  const [ok] = Validator.isValidIPv4String(s);
  if (!ok) throw new TypeError(`not an IPv4 address: ${s}`);
  return Number(IPv4.fromString(s).value) >>> 0;
}

export function u32ToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
