// A port-mapping gateway on a vnet NAT's LAN (x.y.z.1:5351), the twin of miniupnpd's PCP and NAT-PMP
// servers: a MAP creates, renews or (lifetime 0) deletes a port mapping on the NAT (vnet.ts
// addStatic). Responses are laid out here byte by byte, not with src/nat/port-map-codec.ts, so the
// client's codec is checked against a second reading of RFC 6887 / RFC 6886.
import type { Endpoint } from '../../src/net/udp.js';
import type { MemorySocket } from '../fakes/memory-udp.js';
import type { Nat, VirtualInternet } from './vnet.js';

export interface GatewayOptions {
  pcp?: boolean;
  natpmp?: boolean;
  /** The longest lease granted (s); a request for more gets this. */
  maxLifetimeS?: number;
  /** Answer every MAP with a refusal (PCP NOT_AUTHORIZED, NAT-PMP 2): forwarding disabled, as
   * miniupnpd does on a private or reserved WAN address (a router behind carrier-grade NAT). */
  refuse?: boolean;
}

export class FakePortMapGateway {
  readonly sock: MemorySocket;
  readonly ip: string;
  /** Test hook: false = the gateway stops answering (rebooting, unplugged). */
  answering = true;
  readonly requests = { pcpMap: 0, pcpDelete: 0, natpmpMap: 0, natpmpDelete: 0, natpmpAddress: 0 };
  /** PCP nonces by internal endpoint: a renewal or delete with another nonce is refused (RFC 6887 11.3). */
  private readonly nonces = new Map<string, string>();

  constructor(net: VirtualInternet, private readonly nat: Nat, private readonly o: GatewayOptions = { pcp: true, natpmp: true }) {
    this.ip = `${nat.lanPrefix}.1`;
    this.sock = net.host(this.ip, nat).open(5351);
    this.sock.onMessage((d, from) => this.onRequest(new Uint8Array(d), from));
  }

  private onRequest(d: Uint8Array, from: Endpoint): void {
    if (!this.answering) return;
    if (d[0] === 2 && this.o.pcp) this.pcp(d, from);
    else if (d[0] === 0 && this.o.natpmp) this.natpmp(d, from);
    else if (d[0] === 2 && this.o.natpmp) this.reply(new Uint8Array([0, d[1]! | 0x80, 0, 1, 0, 0, 0, 0]), from); // NAT-PMP only: "unsupported version"
  }

  private pcp(d: Uint8Array, from: Endpoint): void {
    if (d.byteLength < 60 || d[1] !== 1) return;
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const lifetimeS = Math.min(v.getUint32(4), this.o.maxLifetimeS ?? 7200);
    const client = `${d[20]}.${d[21]}.${d[22]}.${d[23]}`;
    const nonce = Buffer.from(d.subarray(24, 36)).toString('hex');
    const internal: Endpoint = { address: from.address, port: v.getUint16(40) };
    const key = `${internal.address}:${internal.port}`;
    const out = new Uint8Array(60);
    const o = new DataView(out.buffer);
    out[0] = 2;
    out[1] = 0x81;
    out.set(d.subarray(24, 44), 24); // nonce, protocol, reserved, internal port (and suggested port, overwritten)
    let result = 0;
    let port = 0;
    if (client !== from.address) result = 12; // ADDRESS_MISMATCH
    else if (this.o.refuse) result = 2; // NOT_AUTHORIZED
    else if (this.nonces.has(key) && this.nonces.get(key) !== nonce) result = 2; // NOT_AUTHORIZED
    else if (lifetimeS === 0) {
      this.requests.pcpDelete++;
      this.nat.removeStatic(internal);
      this.nonces.delete(key);
    } else {
      this.requests.pcpMap++;
      port = this.nat.addStatic(internal, v.getUint16(42), lifetimeS * 1000);
      this.nonces.set(key, nonce);
    }
    out[3] = result;
    o.setUint32(4, result === 0 ? lifetimeS : 0);
    o.setUint32(8, 1000); // epoch
    o.setUint16(42, port);
    out[54] = 0xff;
    out[55] = 0xff;
    this.nat.publicIp.split('.').forEach((x, i) => (out[56 + i] = Number(x)));
    this.reply(out, from);
  }

  private natpmp(d: Uint8Array, from: Endpoint): void {
    if (d[1] === 0 && d.byteLength >= 2) {
      this.requests.natpmpAddress++;
      const out = new Uint8Array(12);
      out[1] = 128;
      this.nat.publicIp.split('.').forEach((x, i) => (out[8 + i] = Number(x)));
      this.reply(out, from);
      return;
    }
    if (d[1] !== 1 || d.byteLength < 12) return;
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const internal: Endpoint = { address: from.address, port: v.getUint16(4) };
    const lifetimeS = Math.min(v.getUint32(8), this.o.maxLifetimeS ?? 7200);
    let port = 0;
    if (this.o.refuse) {
      this.reply(new Uint8Array([0, 129, 0, 2, 0, 0, 3, 232, d[4]!, d[5]!, 0, 0, 0, 0, 0, 0]), from);
      return;
    }
    if (lifetimeS === 0) {
      this.requests.natpmpDelete++;
      this.nat.removeStatic(internal);
    } else {
      this.requests.natpmpMap++;
      port = this.nat.addStatic(internal, v.getUint16(6), lifetimeS * 1000);
    }
    const out = new Uint8Array(16);
    const o = new DataView(out.buffer);
    out[1] = 129;
    o.setUint32(4, 1000);
    o.setUint16(8, internal.port);
    o.setUint16(10, port);
    o.setUint32(12, lifetimeS);
    this.reply(out, from);
  }

  private reply(b: Uint8Array, to: Endpoint): void {
    this.sock.send(Buffer.from(b), to);
  }
}
