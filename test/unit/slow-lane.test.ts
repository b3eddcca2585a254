/**
 * The slow lane (src/transports/shared/slow-lane.ts): unverified work runs one item at a time,
 * in arrival order, with a rest after each proportional to what it took (its microtask
 * continuations included), and other work runs between items; with nothing waiting an item
 * starts at once; what waits is bounded in bytes, items, items per sender and time; a failing
 * item fails only its caller.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { SlowLane, type SlowLaneOptions } from '../../src/transports/shared/slow-lane.js';

const spin = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};
const late = () => new Error('too late');
const settles = (p: Promise<unknown> | null): Promise<boolean> => (p ?? Promise.reject(new Error('refused'))).then(() => true, (e: Error) => e.message === 'too late');
const one = { bytes: 1, key: 'a' };
const lane = (options: Partial<SlowLaneOptions> = {}) => new SlowLane({ maxWaitingBytes: 1_000, ...options });

describe('SlowLane', () => {
  test('an idle lane starts the work at once (in the same tick)', async () => {
    const l = lane();
    let started = false;
    const p = l.run(
      one,
      async () => {
        started = true;
        return 7;
      },
      late,
    );
    expect(started).toBe(true);
    await expect(p).resolves.toBe(7);
  });

  test('items start one at a time, in order, each after a rest of restFactor × what the previous one took', async () => {
    const waiting: number[] = [];
    const l = lane({ restFactor: 2, onWaiting: (n) => waiting.push(n) });
    const starts: number[] = [];
    const ends: number[] = [];
    const item = (i: number) =>
      l.run(
        one,
        async () => {
          starts[i] = performance.now();
          spin(20);
          ends[i] = performance.now();
          return i;
        },
        late,
      );
    const results = await Promise.all([0, 1, 2, 3].map(item));
    expect(results).toEqual([0, 1, 2, 3]);
    for (let i = 1; i < 4; i++) expect(starts[i]! - ends[i - 1]!).toBeGreaterThanOrEqual(2 * 20 - 2);
    expect(waiting).toEqual([1, 2, 3, 2, 1, 0]);
    expect(l.waiting).toBe(0);
  });

  test('work that runs after an await, as a microtask continuation (a decryption), is rested for too', async () => {
    const l = lane({ restFactor: 2 });
    let firstEnd = 0;
    let secondStart = 0;
    const first = l.run(
      one,
      async () => {
        await null;
        spin(20);
        firstEnd = performance.now();
      },
      late,
    );
    const second = l.run(
      one,
      async () => {
        secondStart = performance.now();
      },
      late,
    );
    await Promise.all([first, second]);
    expect(secondStart - firstEnd).toBeGreaterThanOrEqual(2 * 20 - 2);
  });

  test('other work runs between items: a callback scheduled during an item runs before the next item starts', async () => {
    const l = lane({ restFactor: 0 });
    const order: string[] = [];
    const a = l.run(
      one,
      async () => {
        order.push('a');
        setImmediate(() => order.push('other'));
      },
      late,
    );
    const b = l.run(
      one,
      async () => {
        order.push('b');
      },
      late,
    );
    await Promise.all([a, b]);
    expect(order).toEqual(['a', 'other', 'b']);
  });

  test('bounds: waiting bytes, waiting items, and a sender beyond half of either answer null and run nothing; the first item always starts', async () => {
    let ran = 0;
    const work = async () => {
      ran += 1;
      spin(2);
    };
    const byBytes = lane({ maxWaitingBytes: 100 });
    const started = byBytes.run({ bytes: 500, key: 'a' }, work, late); // nothing waits: it starts, whatever its size
    const waits = byBytes.run({ bytes: 45, key: 'a' }, work, late);
    expect(byBytes.run({ bytes: 10, key: 'a' }, work, late)).toBeNull(); // sender a: 55 > half of 100
    const other = byBytes.run({ bytes: 45, key: 'b' }, work, late);
    expect(byBytes.run({ bytes: 20, key: 'c' }, work, late)).toBeNull(); // 110 > 100
    expect([started, waits, other].every((p) => p !== null)).toBe(true);
    await Promise.all([started, waits, other]);
    expect(ran).toBe(3);
    const again = byBytes.run({ bytes: 45, key: 'a' }, work, late); // drained: room again
    expect(again).not.toBeNull();
    await again;

    const byItems = lane({ maxWaiting: 4 });
    const items = [byItems.run(one, work, late), byItems.run(one, work, late), byItems.run(one, work, late)]; // one starts, two wait
    expect(byItems.run(one, work, late)).toBeNull(); // a third waiting item of sender a: half of 4
    items.push(byItems.run({ bytes: 1, key: 'b' }, work, late), byItems.run({ bytes: 1, key: 'c' }, work, late));
    expect(byItems.run({ bytes: 1, key: 'd' }, work, late)).toBeNull(); // 4 waiting
    expect(items.every((p) => p !== null)).toBe(true);
    await Promise.all(items);
    expect(ran).toBe(4 + 5);
  });

  test('work measured later (after an await on another thread) owes rest before the next item starts', async () => {
    const l = lane({ restFactor: 2 });
    let measuredEnd = 0;
    await l.run(
      one,
      async (measure) => {
        await new Promise((r) => setTimeout(r, 5));
        measure(() => spin(20));
        measuredEnd = performance.now();
      },
      late,
    );
    let nextStart = 0;
    await l.run(
      one,
      async () => {
        nextStart = performance.now();
      },
      late,
    );
    expect(nextStart - measuredEnd).toBeGreaterThanOrEqual(2 * 20 - 2);
  });

  test('a failing error factory or gauge does not stop the lane', async () => {
    const l = lane({ maxWaitMs: 1, restFactor: 5, onWaiting: () => { throw new Error('gauge'); } });
    const first = l.run(one, async () => spin(5), late);
    const second = l.run(one, async () => 'never', () => { throw new Error('factory'); });
    await first;
    await expect(second).rejects.toThrow('factory');
    // The lane goes on: the next item settles (it may itself be late on a loaded machine; a stalled lane never settles it).
    await expect(settles(l.run(one, async () => 'next', late))).resolves.toBe(true);
  });

  test('senders take turns: a sender with a backlog delays another one by one item, not by its backlog', async () => {
    const l = lane({ restFactor: 0 });
    const order: string[] = [];
    const item = (key: string, label: string) => l.run({ bytes: 1, key }, async () => void order.push(label), late);
    const all = [item('flood', 'f0'), item('flood', 'f1'), item('flood', 'f2'), item('flood', 'f3'), item('b', 'b0'), item('c', 'c0'), item('b', 'b1')];
    await Promise.all(all);
    // f0 started at once; then flood, b, c, flood, b, flood in turn.
    expect(order).toEqual(['f0', 'f1', 'b0', 'c0', 'f2', 'b1', 'f3']);
    expect(l.waiting).toBe(0);
  });

  test('an item whose turn comes after maxWaitMs rejects with the caller’s error and does not run', async () => {
    // The first item's rest (5 × 10 ms) outlasts the second's 10 ms of patience.
    const l = lane({ maxWaitMs: 10, restFactor: 5 });
    let ranLate = false;
    const first = l.run(
      one,
      async () => {
        spin(10);
      },
      late,
    );
    const second = l.run(
      one,
      async () => {
        ranLate = true;
      },
      late,
    );
    await first;
    await expect(second).rejects.toThrow('too late');
    expect(ranLate).toBe(false);
    // The lane goes on.
    // The lane goes on: the next item settles (it may itself be late on a loaded machine; a stalled lane never settles it).
    await expect(settles(l.run(one, async () => 'next', late))).resolves.toBe(true);
  });

  test('a failing item (thrown, rejected, or not even a promise) fails only its caller; the lane goes on', async () => {
    const l = lane({ restFactor: 0 });
    const thrown = l.run(
      one,
      () => {
        throw new Error('sync');
      },
      late,
    );
    const rejected = l.run(one, () => Promise.reject(new Error('async')), late);
    const notAPromise = l.run(one, (() => 42) as unknown as () => Promise<number>, late);
    const ok = l.run(one, async () => 'ok', late);
    await expect(thrown).rejects.toThrow('sync');
    await expect(rejected).rejects.toThrow('async');
    await expect(notAPromise).resolves.toBe(42);
    await expect(ok).resolves.toBe('ok');
    await turn();
    expect(l.waiting).toBe(0);
  });
});
