/**
 * Subscriptions with shared results. The event hub hands the same event object to every
 * subscriber of an organization; when a document reads nothing that depends on who is
 * asking (no field declared viewer-dependent), every subscriber with the same document and
 * variables gets the same result, so it is executed once per event instead of once per
 * subscriber. Each GraphQL server makes its own (createSharedSubscribe): no state is shared
 * between servers in one process.
 */
import { createSourceEventStream, type DocumentNode, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { readsViewerDependentFields } from './viewer-dependent.js';

type Result = ExecutionResult | Promise<ExecutionResult>;

/** Result-sharing keys kept as one string per distinct document and variables instead of one per subscriber. */
const MAX_SHARED_KEYS = 1_000;

/**
 * The event source mapped to execution results. A class with no async methods: an idle
 * subscriber's pending next() is a promise reaction, not a suspended async function.
 * return() reaches the source at once, even while a next() is waiting for the next
 * event (an idle subscriber unsubscribing).
 */
class ResultStream implements AsyncIterableIterator<ExecutionResult> {
  constructor(
    private readonly source: AsyncIterator<unknown>,
    private readonly args: ExecutionArgs,
    /** null: the document reads viewer-dependent fields; executed per subscriber. */
    private readonly key: string | null,
    private readonly sharedResults: WeakMap<object, Map<string, Result>>,
  ) {}

  next(): Promise<IteratorResult<ExecutionResult>> {
    return this.source.next().then((r) => {
      if (r.done) return { done: true, value: undefined };
      return Promise.resolve(this.run(r.value)).then((value) => ({ done: false, value }));
    });
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    if (this.source.throw) await this.source.throw(error);
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private run(event: unknown): Result {
    const { args, key } = this;
    if (key === null || typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
    let perEvent = this.sharedResults.get(event);
    if (!perEvent) this.sharedResults.set(event, (perEvent = new Map()));
    let result = perEvent.get(key);
    if (!result) perEvent.set(key, (result = execute({ ...args, rootValue: event })));
    return result;
  }
}

/** graphql-ws's `subscribe` with shared results, and the state it needs. */
export const createSharedSubscribe = () => {
  const sharedResults = new WeakMap<object, Map<string, Result>>();
  /** A number per parsed document, for result-sharing keys (documents are parsed once per text). */
  const documentNumbers = new WeakMap<DocumentNode, number>();
  let documentsNumbered = 0;
  const documentNumber = (document: DocumentNode): number => {
    let n = documentNumbers.get(document);
    if (n === undefined) documentNumbers.set(document, (n = ++documentsNumbered));
    return n;
  };
  const sharedKeys = new Map<string, string>();
  const sharedKey = (key: string): string => {
    const hit = sharedKeys.get(key);
    if (hit !== undefined) return hit;
    if (sharedKeys.size >= MAX_SHARED_KEYS) sharedKeys.delete(sharedKeys.keys().next().value!);
    sharedKeys.set(key, key);
    return key;
  };

  return async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
    // Same document, operation and variables: the same result.
    const key = readsViewerDependentFields(args.schema, args.document)
      ? null
      : sharedKey(`${documentNumber(args.document)}\n${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}`);
    return new ResultStream((source as AsyncIterable<unknown>)[Symbol.asyncIterator](), args, key, sharedResults);
  };
};
