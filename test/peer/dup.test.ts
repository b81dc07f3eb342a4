// Path redundancy for interactive lanes (issue 19 item 3): the decision tables (dup-decide.ts: whether,
// how many copies, where and when), the receiver's duplicate window (dup-window.ts), and the stage
// (dup-stage.ts) copying a ping-like lane over direct and relay on a lossy path while a bulk lane
// never doubles.
import { describe, expect, it } from 'vitest';
import { dupCopies, dupDirectSettleMs, dupMaxBytes, dupMaxCopies, dupMinLoss, dupPlan, dupSpacingMs, dupTargetAllLost, shouldDuplicate, type DupInput } from '../../src/peer/dup-decide.js';
import { DupWindow, dupWindow } from '../../src/peer/dup-window.js';
import { DupStage, INNER_KIND_DUP, type DupSender } from '../../src/peer/dup-stage.js';
import { PEER_CAP_FEC } from '../../src/peer/fec-caps.js';
import type { RemotePeer } from '../../src/peer/remote-peer.js';
import { InnerKind } from '../../src/wire/inner.js';
import { laneConv } from '../../src/peer/flow-lane.js';
import { ManualClock } from '../fakes/manual-clock.js';

const ping: DupInput = { bytes: 100, lanePps: 1, laneBytesPerSec: 100, loss: 0.05, capable: true };

describe('shouldDuplicate', () => {
  it.each<[string, Partial<DupInput>, string]>([
    ['a ping-sized message of a quiet lane on a lossy direct path', {}, 'duplicate'],
    ['an older peer cannot take kind 6', { capable: false }, 'not-capable'],
    ['a request/response loop at 40 ms RTT (request, KCP ACK, inner ACK: ~60 a second) is interactive', { lanePps: 60, laneBytesPerSec: 6_000 }, 'duplicate'],
    ['no loss reading yet', { loss: undefined }, 'clean'],
    ['a direct path below the threshold', { loss: dupMinLoss / 2 }, 'clean'],
    ['at the threshold', { loss: dupMinLoss }, 'duplicate'],
    ['a full-size segment is never doubled', { bytes: dupMaxBytes + 1 }, 'large'],
    ['a small message of a busy lane (the ACKs of a transfer) is bulk', { lanePps: 2000, laneBytesPerSec: 60_000 }, 'bulk'],
    ['a lane moving many bytes in few messages is bulk', { lanePps: 10, laneBytesPerSec: 20_000 }, 'bulk'],
  ])('%s -> %s', (_why, input, want) => expect(shouldDuplicate({ ...ping, ...input })).toBe(want));
});

describe('dupCopies: the fewest copies whose loss together is rare', () => {
  it.each<[number, number, string]>([
    [0.02, 3, '2 %: two copies would all be lost 4 in 10,000'],
    [0.05, 3, '5 %: 1.25e-4'],
    [0.1, 4, '10 %: 1e-4'],
    [0.2, dupMaxCopies, '20 %: the cap'],
    [0.9, dupMaxCopies, 'a dead path: the cap, never more'],
  ])('loss %s -> %s copies (%s)', (loss, want) => {
    expect(dupCopies(loss)).toBe(want);
    if (want < dupMaxCopies) expect(loss ** want).toBeLessThanOrEqual(dupTargetAllLost * 1.000001);
  });
});

describe('dupPlan: where and when each copy leaves', () => {
  const s = dupSpacingMs;
  it.each<[string, number, boolean, [boolean, number][]]>([
    ['two paths, 2 copies: both on the data path at once', 2, true, [[false, 0], [false, 0]]],
    ['two paths, 3 copies (5 %): two direct and one relayed at once', 3, true, [[false, 0], [false, 0], [true, 0]]],
    ['two paths, 4 copies (10 %): and one more direct a little later', 4, true, [[false, 0], [false, 0], [true, 0], [false, s]]],
    ['two paths, 6 copies: the rest alternate, spaced', 6, true, [[false, 0], [false, 0], [true, 0], [false, s], [true, 2 * s], [false, 3 * s]]],
    ['one path (relayed pair), 4 copies: two at once, the rest spaced so one burst does not take them all', 4, false, [[false, 0], [false, 0], [false, s], [false, 2 * s]]],
  ])('%s', (_why, copies, relayBeside, want) => {
    expect(dupPlan(copies, relayBeside).map((c) => [c.relay, c.delayMs])).toEqual(want);
  });
});

describe('DupWindow', () => {
  it('passes the first copy and drops the second, in any order within the window', () => {
    const w = new DupWindow();
    expect([5, 5, 7, 6, 7, 6, 4, 4].map((s) => w.accept(s))).toEqual([true, false, true, true, false, false, true, false]);
  });

  it('drops copies older than the window and handles the u32 wrap', () => {
    const w = new DupWindow();
    expect(w.accept(0xffff_fffe)).toBe(true);
    expect(w.accept(1)).toBe(true); // past the wrap: ahead
    expect(w.accept(0xffff_ffff)).toBe(true); // behind, in the window, first copy
    expect(w.accept(0xffff_ffff)).toBe(false);
    expect(w.accept(1 + dupWindow)).toBe(true);
    expect(w.accept(1)).toBe(false); // out of the window now
  });
});

describe('DupStage', () => {
  function rig(loss: number | undefined, direct = true) {
    const clock = new ManualClock();
    const peer = { conv: 1000, caps: PEER_CAP_FEC } as unknown as RemotePeer;
    const sent = { direct: [] as Uint8Array[], relay: [] as Uint8Array[], next: [] as Uint8Array[] };
    const link: DupSender = { send: (_p, i) => (sent.direct.push(i.slice()), true), sendRelay: (_p, i) => (sent.relay.push(i.slice()), true), isDirect: () => direct };
    const delivered: Uint8Array[] = [];
    const stage = new DupStage({ next: { send: (_p, i) => (sent.next.push(i.slice()), true) }, link, clock, lossOf: () => loss, deliver: (_p, i) => delivered.push(i.slice()), enabled: true });
    return { clock, peer, sent, stage, delivered };
  }
  /** An inner KCP message of `bytes` bytes on `lane` of the pair. */
  const kcp = (lane: number, bytes: number) => {
    const b = new Uint8Array(bytes);
    b[0] = InnerKind.KCP;
    new DataView(b.buffer).setUint32(1, laneConv(1000, lane), true);
    return b;
  };

  it('copies a quiet lane over direct and relay on a lossy direct path (3 at 5 %); the receiver passes one', () => {
    const r = rig(0.05);
    r.stage.send(r.peer, kcp(0, 80)); // just went direct: the loss reading is the relay's, not yet
    expect(r.sent.relay).toHaveLength(0);
    r.clock.advance(dupDirectSettleMs);
    r.sent.next.length = 0;
    r.sent.direct.length = 0;
    for (let i = 0; i < 5; i++) {
      expect(r.stage.send(r.peer, kcp(0, 80))).toBe(true);
      expect([r.sent.direct.length, r.sent.relay.length]).toEqual([2 * i + 2, i + 1]);
      r.clock.advance(200);
    }
    expect(r.sent.next).toHaveLength(0);
    expect(r.sent.direct.length).toBe(10);
    expect(r.sent.relay.length).toBe(5);
    expect([...r.sent.direct, ...r.sent.relay].every((f) => f[0] === INNER_KIND_DUP)).toBe(true);
    expect(r.stage.stats).toMatchObject({ doubled: 5, copies: 10, bytesAdded: 5 * (3 * 85 - 80) });
    // All copies arrive, the relay's first for some: each message is delivered once.
    const rx = rig(0.05);
    for (let i = 0; i < 5; i++) {
      rx.stage.receive(rx.peer, r.sent.relay[i]!);
      rx.stage.receive(rx.peer, r.sent.direct[2 * i]!);
      rx.stage.receive(rx.peer, r.sent.direct[2 * i + 1]!);
    }
    expect(rx.delivered).toHaveLength(5);
    expect(rx.delivered.every((d) => d.byteLength === 80 && d[0] === InnerKind.KCP)).toBe(true);
    expect(rx.stage.stats.duplicatesDropped).toBe(10);
  });

  it('never copies a bulk lane, nor anything on a clean path', () => {
    const r = rig(0.05);
    r.clock.advance(dupDirectSettleMs);
    for (let i = 0; i < 2000; i++) r.stage.send(r.peer, kcp(3, 60)); // a burst of ACK-sized messages: bulk
    const first = r.sent.relay.length;
    expect(first).toBeLessThan(150); // only until the burst passed the caps
    r.clock.advance(1000);
    for (let i = 0; i < 2000; i++) r.stage.send(r.peer, kcp(3, 60));
    expect(r.sent.relay.length).toBe(first); // the last window's rate keeps it bulk from the start
    const c = rig(0);
    c.stage.send(c.peer, kcp(0, 80));
    c.clock.advance(dupDirectSettleMs);
    c.stage.send(c.peer, kcp(0, 80));
    expect(c.sent.relay).toHaveLength(0);
    expect(c.sent.next).toHaveLength(2);
  });

  it("skips KCP's thin-stream copy of a message it already copied, and nothing else", () => {
    const r = rig(0.05);
    r.stage.send(r.peer, kcp(0, 80));
    r.clock.advance(dupDirectSettleMs);
    r.sent.direct.length = 0;
    const push = kcp(0, 81); // kind, then one segment: conv and the rest
    push.fill(9, 5);
    const ack = kcp(0, 25).fill(7, 5); // an ACK segment ahead of the PUSH
    const withAck = new Uint8Array([...ack, ...push.subarray(1)]);
    r.stage.send(r.peer, withAck);
    r.clock.advance(0.05); // the daemon's clock moves on between the two sends of one flush
    expect(r.stage.send(r.peer, push)).toBe(true); // KCP's copy: the tail of the last one
    const other = kcp(0, 80);
    other.fill(8, 5);
    r.stage.send(r.peer, other); // a different message in the same flush
    r.stage.send(r.peer, push.slice()); // not right after the message it repeats
    r.clock.advance(5);
    r.stage.send(r.peer, push.slice()); // the same bytes later: a retransmit, not a copy
    expect(r.stage.stats).toMatchObject({ thinCopiesSkipped: 1, doubled: 4 });
  });

  it('on a relayed pair (one path) the copies leave on it, spaced dupSpacingMs apart', () => {
    const c = rig(0.1, false);
    c.stage.send(c.peer, kcp(0, 80)); // the pair's first message: its path settles from now
    c.clock.advance(dupDirectSettleMs);
    c.sent.next.length = 0;
    c.stage.send(c.peer, kcp(0, 80));
    const at: number[] = [c.sent.direct.length];
    for (let t = 0; t < 4; t++) {
      c.clock.advance(dupSpacingMs);
      at.push(c.sent.direct.length);
    }
    expect(at).toEqual([2, 3, 4, 4, 4]); // 4 copies at 10 %: two at once, then one each 4 ms
    expect(c.sent.relay).toHaveLength(0);
    expect(c.sent.next).toHaveLength(0);
  });

  it('does not double while a fresh direct path settles (the first readings after a switch are the relay\'s)', () => {
    const r = rig(0.3);
    for (let t = 0; t < dupDirectSettleMs; t += 250) {
      r.stage.send(r.peer, kcp(0, 80));
      r.clock.advance(250);
    }
    expect(r.sent.relay).toHaveLength(0);
    r.stage.send(r.peer, kcp(0, 80));
    expect(r.sent.relay).toHaveLength(1);
  });
});
