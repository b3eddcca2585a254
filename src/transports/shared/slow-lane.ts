/**
 * A lane for unauthenticated work that has not shown it is worth doing (SPEC §8): a SAML
 * response whose SignedInfo no connection key vouched for may still be genuine (an encrypted
 * assertion hides its signature), so it is verified in full — but in turn. Items start one at a
 * time, and the lane keeps a budget of the event loop's time: every millisecond an item spends
 * on it costs `restFactor` milliseconds before the next item may start. What is counted: the
 * item's synchronous start and the continuations that run right after it as microtasks (such
 * as a decryption; whatever else ran in that turn is counted too, which only lengthens the
 * rest), and any later stretch the work runs inside `measure` (what it does after waiting for
 * another thread). With the default factor such work holds at most a third of the event loop
 * while everything else (genuine sign-ins, other routes) runs in between. With nothing waiting
 * and no rest owed, an item starts at once: the lane costs nothing until a flood fills it.
 *
 * The lane also holds back whoever fills it: a sender waits for its answer before sending the
 * next request, so junk in flight is answered at the lane's pace (refusing it at once instead
 * would let the sender come straight back). Senders take turns: each client key has its own
 * queue and the lane serves them round-robin, so one flooding sender delays another's request
 * by one item per busy sender, not by its whole backlog, and no sender may hold more than half
 * of what may wait. What waits is bounded — bytes (what the caller says an item holds) and items
 * — and an item that has not started within `maxWaitMs` is not started: `run` answers null when
 * full, and a late item rejects with the caller's error.
 */
export interface SlowLaneOptions {
  /** Bytes of waiting items at most (the caller counts what each holds while it waits); one sender half of it. */
  maxWaitingBytes: number;
  /** Waiting items at most; one sender half of them. */
  maxWaiting?: number;
  /** An item that has not started this long after it came is refused instead. */
  maxWaitMs?: number;
  /** Rest per millisecond of an item's work on the event loop (2: such work holds at most a third of the loop). */
  restFactor?: number;
  /** Told the number of waiting items whenever it changes (a gauge). */
  onWaiting?: (waiting: number) => void;
}

export interface SlowLaneItem {
  /** What the item holds while it waits (its request body and the request around it). */
  bytes: number;
  /** Who sent it (a client address key): senders take turns. */
  key: string;
}

/** Runs `fn` and counts its time against the lane's budget (for work after an await). */
export type Measure = <R>(fn: () => R) => R;

interface Waiting {
  item: SlowLaneItem;
  deadline: number;
  start: () => void;
  late: () => void;
}

interface SenderQueue {
  items: Waiting[];
  bytes: number;
}

export class SlowLane {
  /** Per sender, its waiting items in arrival order; the map's order is the order of turns. */
  readonly #queues = new Map<string, SenderQueue>();
  #waitingItems = 0;
  #waitingBytes = 0;
  /** A next item is scheduled (or one just started); new items queue. */
  #busy = false;
  /** No item starts before this time (ms, performance.now()): the rest owed for work done. */
  #notBefore = 0;
  readonly #maxWaiting: number;
  readonly #maxWaitMs: number;
  readonly #restFactor: number;

  constructor(private readonly options: SlowLaneOptions) {
    this.#maxWaiting = options.maxWaiting ?? 1_024;
    this.#maxWaitMs = options.maxWaitMs ?? 30_000;
    this.#restFactor = options.restFactor ?? 2;
  }

  /** Items waiting for their turn. */
  get waiting(): number {
    return this.#waitingItems;
  }

  /** Counts `fn`'s time against the lane's budget. */
  readonly measure: Measure = (fn) => {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.#charge(performance.now() - t0);
    }
  };

  /**
   * Runs `work` when its turn comes; null (nothing run) when the lane, or this sender's half of
   * it, is full. An item whose turn comes after `maxWaitMs` rejects with `tooLate()` without running.
   */
  run<T>(item: SlowLaneItem, work: (measure: Measure) => Promise<T>, tooLate: () => unknown): Promise<T> | null {
    const idle = !this.#busy && performance.now() >= this.#notBefore;
    if (!idle) {
      const sender = this.#queues.get(item.key);
      const full =
        this.#waitingItems >= this.#maxWaiting ||
        this.#waitingBytes + item.bytes > this.options.maxWaitingBytes ||
        (sender !== undefined && (sender.items.length >= this.#maxWaiting / 2 || sender.bytes + item.bytes > this.options.maxWaitingBytes / 2));
      if (full) return null;
    }
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        const t0 = performance.now();
        try {
          Promise.resolve(work(this.measure)).then(resolve, reject);
        } catch (error) {
          reject(error);
        }
        // Measured when the loop reaches its check phase: the item's synchronous part and its microtasks.
        setImmediate(() => {
          this.#charge(performance.now() - t0);
          this.#schedule();
        });
      };
      if (idle) {
        this.#busy = true;
        start();
        return;
      }
      const late = () => {
        let error: unknown;
        try {
          error = tooLate();
        } catch (thrown) {
          error = thrown;
        }
        reject(error);
      };
      const waiting = { item, deadline: performance.now() + this.#maxWaitMs, start, late };
      const sender = this.#queues.get(item.key);
      if (sender) {
        sender.items.push(waiting);
        sender.bytes += item.bytes;
      } else this.#queues.set(item.key, { items: [waiting], bytes: item.bytes });
      this.#waitingItems += 1;
      this.#waitingBytes += item.bytes;
      this.#report();
      if (!this.#busy) {
        this.#busy = true;
        this.#schedule();
      }
    });
  }

  #charge(ms: number): void {
    this.#notBefore = Math.max(this.#notBefore, performance.now()) + ms * this.#restFactor;
  }

  /** The next item after the rest owed, and at least one turn of the event loop (I/O waiting behind an item runs first). */
  #schedule(): void {
    const wait = this.#notBefore - performance.now();
    if (wait < 1) setImmediate(this.#next);
    else setTimeout(this.#next, wait);
  }

  #next = (): void => {
    // Work measured after this was scheduled owes more rest.
    if (this.#notBefore - performance.now() >= 1) {
      this.#schedule();
      return;
    }
    // The sender whose turn it is: the first in the map; it goes to the back if it has more.
    const turn = this.#queues.entries().next();
    if (turn.done) {
      this.#busy = false;
      return;
    }
    const [key, sender] = turn.value;
    const waiting = sender.items.shift()!;
    sender.bytes -= waiting.item.bytes;
    this.#queues.delete(key);
    if (sender.items.length > 0) this.#queues.set(key, sender);
    this.#waitingItems -= 1;
    this.#waitingBytes -= waiting.item.bytes;
    this.#report();
    if (performance.now() > waiting.deadline) {
      waiting.late();
      setImmediate(this.#next);
      return;
    }
    waiting.start();
  };

  #report(): void {
    try {
      this.options.onWaiting?.(this.#waitingItems);
    } catch {
      // A gauge that fails must not stop the lane.
    }
  }
}
