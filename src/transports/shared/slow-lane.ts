/**
 * A lane for unauthenticated work that has not shown it is worth doing (SPEC §8): a SAML
 * response whose SignedInfo no connection key signed may still be genuine (an encrypted
 * assertion hides its signature), so it is verified in full — but in turn. Items start one at a
 * time, and after each the lane rests as long as the item's synchronous part took, so such
 * work holds at most half of the event loop while everything else (genuine sign-ins, other
 * routes) runs between items. With nothing waiting an item starts at once: the lane costs
 * nothing until a flood fills it.
 *
 * The lane also holds back whoever fills it: a sender waits for its answer before sending
 * the next request, so 150 junk requests in flight are answered at the lane's pace, not at the
 * rate the event loop could refuse them. What waits is bounded by the bytes it holds; beyond
 * that `run` answers null and the caller refuses the request as busy.
 */
export interface SlowLaneOptions {
  /** Bytes of waiting requests at most (their bodies are held until their turn). */
  maxWaitingBytes: number;
  /** Rest after an item, as a multiple of the time its synchronous part took (1 = at most half the loop). */
  restFactor?: number;
  /** Told the number of waiting requests whenever it changes (a gauge). */
  onWaiting?: (waiting: number) => void;
}

interface Waiting {
  bytes: number;
  start: () => void;
}

export class SlowLane {
  readonly #waiting: Waiting[] = [];
  #waitingBytes = 0;
  /** An item ran and the lane rests (or is about to start the next); new items queue. */
  #busy = false;
  readonly #restFactor: number;

  constructor(private readonly options: SlowLaneOptions) {
    this.#restFactor = options.restFactor ?? 2;
  }

  /** Requests waiting for their turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `work` when its turn comes, with `bytes` counted against the lane's bound while it
   * waits; null (nothing run) when the lane is full.
   */
  run<T>(bytes: number, work: () => Promise<T>): Promise<T> | null {
    if (this.#waiting.length > 0 && this.#waitingBytes + bytes > this.options.maxWaitingBytes) return null;
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        const t0 = performance.now();
        let result: Promise<T>;
        try {
          result = work();
        } catch (error) {
          result = Promise.reject(error);
        }
        result.then(resolve, reject);
        this.#rest(performance.now() - t0);
      };
      if (this.#busy) {
        this.#waiting.push({ bytes, start });
        this.#waitingBytes += bytes;
        this.options.onWaiting?.(this.#waiting.length);
      } else {
        this.#busy = true;
        start();
      }
    });
  }

  #rest(tookMs: number): void {
    const next = () => {
      const item = this.#waiting.shift();
      if (!item) {
        this.#busy = false;
        return;
      }
      this.#waitingBytes -= item.bytes;
      this.options.onWaiting?.(this.#waiting.length);
      item.start();
    };
    const restMs = tookMs * this.#restFactor;
    // At least one turn of the event loop between items, so I/O waiting behind one runs first.
    if (restMs < 1) setImmediate(next);
    else setTimeout(next, restMs);
  }
}
