// The fan-out report (hub/fanout.ts): the pump's counts over a fan-out are the difference of its
// cumulative totals between the flush and the report, rounded for the log line.
import { describe, expect, it } from 'vitest';
import { Fanout, pumpSince, type FanoutReport, type PumpTotals } from '../../src/hub/fanout.js';

const at = (slices: number, parts: number, busyMs: number, waitMs: number, inflightStops: number): PumpTotals => ({ slices, parts, busyMs, waitMs, inflightStops });

describe('fan-out report', () => {
  it.each([
    ['nothing pumped', at(3, 40, 10, 5, 1), at(3, 40, 10, 5, 1), at(0, 0, 0, 0, 0)],
    ['every count moves', at(3, 40, 10, 5, 1), at(10, 540, 32.5, 80.25, 3), at(7, 500, 22.5, 75.3, 2)],
    ['fractions rounded to 0.1 ms', at(0, 0, 0.04, 0.01, 0), at(1, 1, 1.2345, 2.3456, 0), at(1, 1, 1.2, 2.3, 0)],
  ])('pumpSince: %s', (_why, a, b, want) => {
    expect(pumpSince(a, b)).toEqual(want);
  });

  it('reports the pump from the flush to the last map finished, once', () => {
    const totals = at(5, 100, 20, 10, 0);
    const reports: FanoutReport[] = [];
    const f = new Fanout(7, 1_000, 1_050, (r) => reports.push(r), () => ({ ...totals }));
    f.add();
    f.add();
    totals.slices += 2;
    totals.parts += 2;
    f.sent(1_060);
    f.sent(1_070);
    f.finished(1_080, true);
    totals.slices++; // counted: the pump ran before the last ACK
    f.finished(1_090, true);
    f.finished(1_100, true); // a stray call reports nothing more
    expect(reports).toEqual([{ version: 7, members: 2, waitedMs: 50, sentMs: 70, deliveredMs: 90, unfinished: 0, pump: at(3, 2, 0, 0, 0) }]);
  });

  it('reports no pump counts without a source of them', () => {
    const reports: FanoutReport[] = [];
    const f = new Fanout(1, 0, 50, (r) => reports.push(r));
    f.add();
    f.sent(60);
    f.finished(70, false);
    expect(reports).toEqual([{ version: 1, members: 1, waitedMs: 50, sentMs: 60, deliveredMs: 70, unfinished: 1 }]);
  });
});
