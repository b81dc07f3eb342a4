// IPv4 addresses as unsigned 32-bit numbers, the form the data path compares and the codecs carry.
// The one dotted-quad parser: plain integer math (the hub encodes one per MAP entry, the native UDP
// socket one per new destination), accepting exactly what ip-num's validator does (test/util/ipv4.test.ts).
// CIDR parsing of user input stays with ip-num in config/.

/** "10.9.0.2" -> 0x0a090002; undefined for anything but four decimal octets 0..255 without leading zeros. */
export function parseIpv4(s: string): number | undefined {
  let ip = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return undefined;
      ip = ip * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return undefined; // leading zero: "010" reads as octal elsewhere
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return undefined;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return ip * 256 + octet;
}

/** "10.9.0.2" -> 0x0a090002, or throws TypeError. */
export function ipv4ToU32(s: string): number {
  const n = parseIpv4(s);
  if (n === undefined) throw new TypeError(`not an IPv4 address: ${s}`);
  return n;
}

/** The netmask of an IPv4 prefix length (0-32) as an unsigned 32-bit number. */
export function prefixMask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

export function u32ToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * An IPv4 endpoint {address, port} that also carries its address as a u32 in `u32`, not enumerable
 * (equality, JSON and spreads still see {address, port}): the native socket sends to it without
 * parsing the text (net/udp-native.ts). Made where the number is at hand: received sources, decoded
 * endpoints, parsed flags.
 */
export function ipv4Endpoint(u32: number, port: number): { readonly address: string; readonly port: number; readonly u32?: number } {
  const e = { address: u32ToIpv4(u32), port };
  Object.defineProperty(e, 'u32', { value: u32 >>> 0, enumerable: false });
  return e;
}
