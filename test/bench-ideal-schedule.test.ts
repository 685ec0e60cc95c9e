import { describe, expect, it } from 'vitest';
import { faultPattern, idealSchedule, jitterOf, listScheduleMs } from '../bench/ideal-schedule.js';

const o = { slots: 50, latencyMs: 100, retryAfterMs: 1000 };

describe('bench ideal schedule under 429 chains', () => {
  it('without faults is the floor: ceil(calls / slots) × latency', () => {
    const s = idealSchedule(new Array<number>(101).fill(0), o);
    expect(s).toEqual({ slotFreedMs: 300, noForesightMs: 300, slotHeldMs: 300, lowerBoundMs: 300, attempts: 101, longestChainMs: 100 });
  });

  it('with foresight starts the refused request first; without, a late one waits out its Retry-After at the end', () => {
    // 50 requests answered at once, the last one sent refused once: a chain of 100 + 1000 + 100 ms.
    const s = idealSchedule([...new Array<number>(50).fill(0), 1], o);
    expect(s.longestChainMs).toBe(1200);
    expect(s.slotFreedMs).toBe(1200);
    expect(s.lowerBoundMs).toBe(1200);
    // In order it is first sent in the second step (100 ms), so it ends at 100 + 1200.
    expect(s.noForesightMs).toBe(1300);
    expect(s.slotHeldMs).toBe(1200);
  });

  it('a waiting call that keeps its slot blocks the others', () => {
    // Two slots, two chains refused once and four plain requests: freed slots fill the 1 s waits.
    const two = { ...o, slots: 2 };
    const s = idealSchedule([1, 1, 0, 0, 0, 0], two);
    expect(s.slotFreedMs).toBe(1200);
    expect(s.slotHeldMs).toBe(1400);
  });

  it('replays a log through the mock fault function and counts what it does not reproduce', () => {
    const log = [{ body: '{"a":1}' }, { body: '{"a":2}', fault: 'rate429' as const }, { body: '{"a":1}' }];
    const p = faultPattern(log, { seed: 1, rate429: 0 });
    expect(p).toEqual({ retriesPerBody: [0, 0], mismatches: 1 });
    const always = faultPattern([{ body: '{"a":1}', fault: 'rate429' }], { seed: 1, rate429: 1 });
    expect(always).toEqual({ retriesPerBody: [100], mismatches: 0 });
  });
});

describe('bench floor with per-request latencies', () => {
  it('equal latencies give ceil(n / slots) × latency', () => {
    expect(listScheduleMs(new Array<number>(1000).fill(100), 16)).toBe(6300);
    expect(listScheduleMs(new Array<number>(1000).fill(100), 64)).toBe(1600);
    expect(listScheduleMs([100, 100], 64)).toBe(100);
  });

  it('each request goes, in order, to the slot that frees first', () => {
    // Two slots: 150 | 50, then the third joins slot 2 at 50 (ends 150), the fourth slot 1 at 150 (ends 250).
    expect(listScheduleMs([150, 50, 100, 100], 2)).toBe(250);
    // The same latencies in another order end at another time: the order the run sent them is part of its floor.
    expect(listScheduleMs([100, 100, 200], 2)).toBe(300);
    expect(listScheduleMs([200, 100, 100], 2)).toBe(200);
  });

  it('jitter is decided by the body alone and spread over [0, spread)', () => {
    // Pinned: the mock and the bench compute it apart, from the same body text.
    expect([jitterOf('{"a":1}', 100), jitterOf('{"a":2}', 100), jitterOf('{"a":1}', 1000)]).toEqual([62, 54, 623]);
    expect(jitterOf('{"a":1}', 0)).toBe(0);
    const values = Array.from({ length: 2000 }, (_, i) => jitterOf(`{"i":${i}}`, 100));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(100);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean).toBeGreaterThan(45);
    expect(mean).toBeLessThan(54);
  });
});
