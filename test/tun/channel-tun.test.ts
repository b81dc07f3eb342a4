// The ChannelTun twin honours the TunDevice contract the real device does.
import { describe, expect, it } from 'vitest';
import { ChannelTun, packetAt } from '../fakes/channel-tun.js';
import { fromHex } from '../../src/util/bytes.js';
import { icmpEchoReply } from '../../src/tun/ip-packet.js';

const echoRequest = fromHex('45000024 12344000 40011491 0a090001 0a090002 080091ac 00420001 6d657368 64212121');

describe('ChannelTun', () => {
  it('delivers injected packets as one batch and records writes', () => {
    const tun = new ChannelTun();
    const seen: Uint8Array[] = [];
    tun.onPackets((b) => {
      for (let i = 0; i < b.count; i++) seen.push(packetAt(b, i));
    });
    expect(tun.inject(echoRequest, echoRequest)).toBe(true);
    expect(seen).toEqual([echoRequest, echoRequest]);
    const reply = icmpEchoReply(seen[0]!)!;
    expect(tun.writeBatch([reply, reply])).toBe(2);
    expect(tun.take()).toEqual([reply, reply]);
    expect(tun.take()).toEqual([]);
  });

  it('refuses bytes that are not IPv4 or IPv6, as the kernel does', () => {
    const tun = new ChannelTun();
    expect(tun.write(new Uint8Array([0xff, 1, 2]))).toBe(false);
    expect(tun.write(new Uint8Array(0))).toBe(false);
    expect(tun.take()).toEqual([]);
  });

  it('after close: no handler call, writes refused, onClose once without error', () => {
    const tun = new ChannelTun();
    let calls = 0;
    const closes: (Error | undefined)[] = [];
    tun.onPackets(() => calls++);
    tun.onClose((e) => closes.push(e));
    tun.close();
    tun.close();
    expect(tun.inject(echoRequest)).toBe(false);
    expect(tun.write(echoRequest)).toBe(false);
    expect(calls).toBe(0);
    expect(closes).toEqual([undefined]);
  });

  it('close from inside the handler stops further delivery; fail() reports its error', () => {
    const tun = new ChannelTun();
    let calls = 0;
    tun.onPackets(() => {
      calls++;
      tun.close();
    });
    tun.inject(echoRequest);
    tun.inject(echoRequest);
    expect(calls).toBe(1);
    const other = new ChannelTun();
    const errs: (Error | undefined)[] = [];
    other.onClose((e) => errs.push(e));
    other.fail(new Error('gone'));
    other.close();
    expect(errs.map((e) => e?.message)).toEqual(['gone']);
  });
});
