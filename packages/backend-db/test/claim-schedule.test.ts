/** When a worker claims (`ClaimSchedule`), on fake timers: no database, no timed assertion. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClaimSchedule } from '../src/claim-schedule.ts';

function schedule(batch = false): ClaimSchedule {
  return new ClaimSchedule({
    capacity: 10,
    lowWater: 5,
    pollIntervalMs: 1000,
    batch,
    nextDue: () => Promise.resolve(null),
  });
}

describe('ClaimSchedule', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('claims in batches: at once when nothing is held, then once half the capacity is free', () => {
    const s = schedule();
    const first = s.plan(0, Number.POSITIVE_INFINITY);
    expect(first).toEqual({ room: 10, seq: 0 });
    expect(s.claimed(first!, 10, 10)).toBe(false);
    expect(s.plan(7, Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(s.plan(5, Number.POSITIVE_INFINITY)?.room).toBe(5);
  });

  it('after a short claim waits for a wake-up, then claims at once even for one place', () => {
    const s = schedule();
    const first = s.plan(0, Number.POSITIVE_INFINITY)!;
    s.claimed(first, 3, 3);
    expect(s.mayHaveWork).toBe(false);
    expect(s.plan(3, Number.POSITIVE_INFINITY)).toBeUndefined();
    s.wake();
    expect(s.plan(9, Number.POSITIVE_INFINITY)?.room).toBe(1);
  });

  it('keeps the poll deadline when a wait is interrupted (a slot freed) instead of restarting it', async () => {
    const s = schedule();
    s.claimed(s.plan(0, Number.POSITIVE_INFINITY)!, 0, 0); // short: poll again at 1000
    let woken = false;
    void s.wait();
    await vi.advanceTimersByTimeAsync(600);
    s.interrupt(); // a task finished
    const second = s.wait().then(() => (woken = true));
    await vi.advanceTimersByTimeAsync(399);
    expect(woken).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(woken).toBe(true);
    await second;
    expect(Date.now()).toBe(1000);
    expect(s.mayHaveWork).toBe(true); // the poll is a wake-up
  });

  it('in batch mode never polls, and a stop ends the wait', async () => {
    const s = schedule(true);
    s.claimed(s.plan(0, Number.POSITIVE_INFINITY)!, 0, 0);
    let ended = false;
    const waiting = s.wait().then(() => (ended = true));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ended).toBe(false);
    s.stop();
    await waiting;
    expect(ended).toBe(true);
    await s.wait(); // resolves at once once stopped
  });
});
