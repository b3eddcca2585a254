/**
 * The slow lane (src/transports/shared/slow-lane.ts): unverified work runs one item at a time,
 * in arrival order, with a rest after each proportional to what it took, and other work runs
 * between items; with nothing waiting an item starts at once; what waits is bounded in bytes.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { SlowLane } from '../../src/transports/shared/slow-lane.js';

const spin = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe('SlowLane', () => {
  test('an idle lane starts the work at once (in the same tick)', async () => {
    const lane = new SlowLane({ maxWaitingBytes: 1_000 });
    let started = false;
    const p = lane.run(10, async () => {
      started = true;
      return 7;
    });
    expect(started).toBe(true);
    await expect(p).resolves.toBe(7);
  });

  test('items start one at a time, in order, each after a rest of restFactor × the previous item’s synchronous time', async () => {
    const waiting: number[] = [];
    const lane = new SlowLane({ maxWaitingBytes: 1_000, restFactor: 2, onWaiting: (n) => waiting.push(n) });
    const starts: number[] = [];
    const ends: number[] = [];
    const item = (i: number) =>
      lane.run(1, async () => {
        starts[i] = performance.now();
        spin(20);
        ends[i] = performance.now();
        return i;
      });
    const results = await Promise.all([0, 1, 2, 3].map(item));
    expect(results).toEqual([0, 1, 2, 3]);
    for (let i = 1; i < 4; i++) expect(starts[i]! - ends[i - 1]!).toBeGreaterThanOrEqual(2 * 20 - 2);
    expect(waiting).toEqual([1, 2, 3, 2, 1, 0]);
    expect(lane.waiting).toBe(0);
  });

  test('other work runs between items: a callback scheduled during an item runs before the next item starts', async () => {
    const lane = new SlowLane({ maxWaitingBytes: 1_000, restFactor: 0 });
    const order: string[] = [];
    const a = lane.run(1, async () => {
      order.push('a');
      setImmediate(() => order.push('other'));
    });
    const b = lane.run(1, async () => {
      order.push('b');
    });
    await Promise.all([a, b]);
    expect(order).toEqual(['a', 'other', 'b']);
  });

  test('full: waiting bytes beyond the bound answer null and run nothing; the first item always fits', async () => {
    const lane = new SlowLane({ maxWaitingBytes: 100 });
    let ran = 0;
    const work = async () => {
      ran += 1;
      spin(2);
    };
    const first = lane.run(500, work); // nothing waits: it starts, whatever its size
    const second = lane.run(60, work); // waits (60 bytes)
    const third = lane.run(60, work); // 120 > 100: refused
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    expect(third).toBeNull();
    await Promise.all([first, second]);
    expect(ran).toBe(2);
    // Drained: room again.
    const fourth = lane.run(60, work);
    expect(fourth).not.toBeNull();
    await fourth;
    expect(ran).toBe(3);
  });

  test('a failing item (thrown or rejected) fails only its caller; the lane goes on', async () => {
    const lane = new SlowLane({ maxWaitingBytes: 1_000, restFactor: 0 });
    const thrown = lane.run(1, () => {
      throw new Error('sync');
    });
    const rejected = lane.run(1, () => Promise.reject(new Error('async')));
    const ok = lane.run(1, async () => 'ok');
    await expect(thrown).rejects.toThrow('sync');
    await expect(rejected).rejects.toThrow('async');
    await expect(ok).resolves.toBe('ok');
    await turn();
    expect(lane.waiting).toBe(0);
  });
});
