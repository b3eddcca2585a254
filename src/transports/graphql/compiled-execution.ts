/**
 * Execution of hot queries through graphql-jit.
 *
 * graphql-js interprets the document for every value it resolves; for the Viewer query
 * (a page of 50 organizations, ~1,000 values) that interpretation, and serialising the
 * null-prototype objects it builds, were most of the gateway's CPU per request.
 * graphql-jit compiles an operation once into a function that does the same work
 * directly. Compiling costs far more than one execution, so an operation is compiled
 * only when its document has been executed before (clients send the same few
 * documents again and again; a stream of distinct one-off queries never reaches the
 * compiler), and at most MAX_COMPILED operations are kept.
 *
 * Apollo Server exposes its executor only through the gateway interface, so that is
 * how this plugs in: parsing, validation, context, plugins and error formatting stay
 * Apollo's; only the execute step changes.
 */
import {
  type DocumentNode,
  execute,
  type ExecutionResult,
  getNamedType,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  type GraphQLSchema,
  isEnumType,
  isSpecifiedScalarType,
  type OperationDefinitionNode,
  typeFromAST,
} from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';

const MAX_COMPILED = 200;

interface Entry {
  /** Executions seen (the document is compiled on the second). */
  seen: number;
  compiled?: CompiledQuery | null;
  operation: OperationDefinitionNode | null;
}

/**
 * Only queries whose variables are built-in scalars or enums are compiled: graphql-jit
 * coerces variables itself and, unlike graphql-js, does not fill in input-object field
 * defaults. Mutations gain nothing from compiling (their cost is the database).
 */
const compilable = (schema: GraphQLSchema, operation: OperationDefinitionNode | null): boolean =>
  operation?.operation === 'query' &&
  (operation.variableDefinitions ?? []).every((v) => {
    const type = typeFromAST(schema, v.type as never);
    const named = type && getNamedType(type);
    return named !== undefined && (isSpecifiedScalarType(named) || isEnumType(named));
  });

export interface CompiledExecutor {
  execute(args: { document: DocumentNode; operationName?: string | null; variables?: Record<string, unknown> | null; context: unknown }): Promise<ExecutionResult>;
  /** For tests and metrics: how many operations are compiled now. */
  readonly compiledCount: number;
}

/**
 * graphql-jit's errors look like graphql-js's but are built differently (no `extensions`
 * object unless the thrown error had one), which Apollo's error pipeline does not
 * expect. Rebuilt as graphql-js errors they go through the same formatting as the rest.
 */
const asGraphQLError = (e: GraphQLError): GraphQLError => {
  const error = new GraphQLError(e.message, { path: e.path, originalError: e.originalError ?? e, extensions: e.extensions ?? {} });
  (error as { locations: GraphQLError['locations'] }).locations = e.locations;
  return error;
};

export const createCompiledExecutor = (schema: GraphQLSchema): CompiledExecutor => {
  // Per document object (Apollo and our parse cache hand out the same object for the
  // same query text), then per operation name.
  const entries = new WeakMap<DocumentNode, Map<string, Entry>>();
  // Insertion order of compiled entries, to drop the oldest beyond MAX_COMPILED.
  const compiledOrder: Entry[] = [];

  const compiledFor = (document: DocumentNode, operationName: string | null | undefined): { compiled: CompiledQuery | null; entry: Entry } => {
    let byName = entries.get(document);
    if (!byName) entries.set(document, (byName = new Map()));
    const key = operationName ?? '';
    let entry = byName.get(key);
    if (!entry) {
      const operation = getOperationAST(document, operationName) ?? null;
      entry = { seen: 0, operation, compiled: compilable(schema, operation) ? undefined : null };
      byName.set(key, entry);
    }
    if (entry.compiled !== undefined) return { compiled: entry.compiled, entry };
    entry.seen += 1;
    if (entry.seen < 2) return { compiled: null, entry };
    // A document graphql-jit cannot compile (it answers with errors) runs interpreted.
    const result = compileQuery(schema, document, operationName ?? undefined, { disablingCapturingStackErrors: true });
    entry.compiled = isCompiledQuery(result) ? result : null;
    if (entry.compiled) {
      compiledOrder.push(entry);
      if (compiledOrder.length > MAX_COMPILED) compiledOrder.shift()!.compiled = undefined;
    }
    return { compiled: entry.compiled, entry };
  };

  return {
    async execute({ document, operationName, variables, context }) {
      const { compiled, entry } = compiledFor(document, operationName);
      // Variables that graphql-js refuses run interpreted, so the errors are graphql-js's own.
      const definitions = entry.operation?.variableDefinitions;
      if (compiled && (!definitions?.length || !getVariableValues(schema, definitions, variables ?? {}).errors)) {
        const result = await compiled.query(undefined, context, variables ?? {});
        return result.errors?.length ? { ...result, errors: result.errors.map(asGraphQLError) } : result;
      }
      return execute({ schema, document, operationName, variableValues: variables, contextValue: context });
    },
    get compiledCount() {
      return compiledOrder.length;
    },
  };
};
