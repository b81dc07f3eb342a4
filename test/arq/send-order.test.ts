import { describe, expect, it } from 'vitest';
import { SendOrder, type SendOrderNode } from '../../src/arq/send-order.js';

class Node implements SendOrderNode<Node> {
  sentPrev: Node | undefined = undefined;
  sentNext: Node | undefined = undefined;
  constructor(readonly id: number) {}
}

function ids(list: SendOrder<Node>): number[] {
  const out: number[] = [];
  for (let n = list.first(); n !== undefined && out.length < 100; n = list.next(n)) out.push(n.id);
  return out;
}

describe('SendOrder', () => {
  it('lists members oldest transmission first; a resend moves one to the end', () => {
    const list = new SendOrder<Node>();
    const n = [0, 1, 2, 3].map((i) => new Node(i));
    for (const x of n) list.touch(x);
    expect(ids(list)).toEqual([0, 1, 2, 3]);
    list.touch(n[1]!);
    expect(ids(list)).toEqual([0, 2, 3, 1]);
    list.touch(n[0]!);
    expect(ids(list)).toEqual([2, 3, 1, 0]);
    list.touch(n[0]!); // already the newest: unchanged
    expect(ids(list)).toEqual([2, 3, 1, 0]);
    expect(list.size).toBe(4);
  });

  it('removes from the head, the middle and the tail, and ignores a node not listed', () => {
    const list = new SendOrder<Node>();
    const n = [0, 1, 2, 3, 4].map((i) => new Node(i));
    for (const x of n) list.touch(x);
    list.remove(n[0]!);
    list.remove(n[2]!);
    list.remove(n[4]!);
    expect(ids(list)).toEqual([1, 3]);
    list.remove(n[2]!);
    list.remove(new Node(9));
    expect(list.size).toBe(2);
    list.touch(n[2]!);
    expect(ids(list)).toEqual([1, 3, 2]);
    list.remove(n[1]!);
    list.remove(n[3]!);
    list.remove(n[2]!);
    expect(list.first()).toBeUndefined();
    expect(list.size).toBe(0);
    expect(n.every((x) => !list.has(x) && x.sentPrev === undefined && x.sentNext === undefined)).toBe(true);
  });

  it('matches a plain array model over 20,000 seeded random touches and removes', () => {
    const list = new SendOrder<Node>();
    const nodes = Array.from({ length: 64 }, (_, i) => new Node(i));
    const model: number[] = [];
    let seed = 12345;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let step = 0; step < 20_000; step++) {
      const x = nodes[Math.floor(rand() * nodes.length)]!;
      const at = model.indexOf(x.id);
      if (rand() < 0.55) {
        list.touch(x);
        if (at >= 0) model.splice(at, 1);
        model.push(x.id);
      } else {
        list.remove(x);
        if (at >= 0) model.splice(at, 1);
      }
      if (step % 97 === 0) expect(ids(list)).toEqual(model);
      expect(list.size).toBe(model.length);
    }
    expect(ids(list)).toEqual(model);
  });
});
