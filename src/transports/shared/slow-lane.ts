/**
 * A lane for unauthenticated work that has not shown it is worth doing (SPEC §8): a SAML
 * response whose SignedInfo no connection key vouched for may still be genuine (an encrypted
 * assertion hides its signature), so it is verified in full — but in turn. Items start one at a
 * time; after each the lane rests `restFactor` times what the item took before the event loop
 * moved on (its synchronous part and the continuations that ran right after it as microtasks,
 * such as a decryption; whatever else ran in that turn is counted too, which only lengthens the
 * rest), so with the default factor such work holds at most a third of the event loop while
 * everything else (genuine sign-ins, other routes) runs between items. With nothing waiting an
 * item starts at once: the lane costs nothing until a flood fills it.
 *
 * The lane also holds back whoever fills it: a sender waits for its answer before sending the
 * next request, so junk in flight is answered at the lane's pace (refusing it at once instead
 * would let the sender come straight back). Senders take turns: each client key has its own
 * queue and the lane serves them round-robin, so one flooding sender delays another's request
 * by one item per busy sender, not by its whole backlog. What waits is bounded — bytes (what
 * the caller says an item holds) and items — and an item that has not started within
 * `maxWaitMs` is not started: `run` answers null when full, and a late item rejects with the
 * caller's error.
 */
export interface SlowLaneOptions {
  /** Bytes of waiting items at most (the caller counts what each holds while it waits). */
  maxWaitingBytes: number;
  /** Waiting items at most. */
  maxWaiting?: number;
  /** An item that has not started this long after it came is refused instead. */
  maxWaitMs?: number;
  /** Rest after an item, as a multiple of the time it took (2: such work holds at most a third of the loop). */
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

interface Waiting {
  item: SlowLaneItem;
  deadline: number;
  start: () => void;
  late: () => void;
}

export class SlowLane {
  /** Per sender, its waiting items in arrival order; the map's order is the order of turns. */
  readonly #queues = new Map<string, Waiting[]>();
  #waitingItems = 0;
  #waitingBytes = 0;
  /** An item ran and the lane rests (or is about to start the next); new items queue. */
  #busy = false;
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

  /**
   * Runs `work` when its turn comes; null (nothing run) when the lane is full for this item.
   * An item whose turn comes after `maxWaitMs` rejects with `tooLate()` without running.
   */
  run<T>(item: SlowLaneItem, work: () => Promise<T>, tooLate: () => unknown): Promise<T> | null {
    if (this.#busy) {
      if (this.#waitingItems >= this.#maxWaiting || this.#waitingBytes + item.bytes > this.options.maxWaitingBytes) return null;
    }
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        const t0 = performance.now();
        try {
          Promise.resolve(work()).then(resolve, reject);
        } catch (error) {
          reject(error);
        }
        // Measured when the loop reaches its check phase: the item's synchronous part and its microtasks.
        setImmediate(() => this.#rest(performance.now() - t0));
      };
      if (!this.#busy) {
        this.#busy = true;
        start();
        return;
      }
      const queue = this.#queues.get(item.key);
      const waiting = { item, deadline: performance.now() + this.#maxWaitMs, start, late: () => reject(tooLate()) };
      if (queue) queue.push(waiting);
      else this.#queues.set(item.key, [waiting]);
      this.#waitingItems += 1;
      this.#waitingBytes += item.bytes;
      this.options.onWaiting?.(this.#waitingItems);
    });
  }

  #next = (): void => {
    // The sender whose turn it is: the first in the map; it goes to the back if it has more.
    const turn = this.#queues.entries().next();
    if (turn.done) {
      this.#busy = false;
      return;
    }
    const [key, queue] = turn.value;
    const waiting = queue.shift()!;
    this.#queues.delete(key);
    if (queue.length > 0) this.#queues.set(key, queue);
    this.#waitingItems -= 1;
    this.#waitingBytes -= waiting.item.bytes;
    this.options.onWaiting?.(this.#waitingItems);
    if (performance.now() > waiting.deadline) {
      waiting.late();
      setImmediate(this.#next);
      return;
    }
    waiting.start();
  };

  #rest(tookMs: number): void {
    const restMs = tookMs * this.#restFactor;
    // At least one turn of the event loop between items, so I/O waiting behind one runs first.
    if (restMs < 1) setImmediate(this.#next);
    else setTimeout(this.#next, restMs);
  }
}
