/**
 * SPEC §8 GraphQL cost limits, checked before execution on every path (Apollo over HTTP,
 * the compiled executor behind it, graphql-ws):
 *
 * - depth (GraphQL Armor's max-depth rule) and aliases (its max-aliases rule) depend on the
 *   document only, so they are validation rules and their verdict is cached with the
 *   document's validation;
 * - the estimated result size depends on variables (`first: $n`), so it is computed per
 *   operation by graphql-query-complexity with the estimator below;
 * - the parser stops at MAX_TOKENS, so a document nested thousands of levels deep never
 *   reaches a recursive step (it would otherwise overflow the stack).
 */
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import {
  type DocumentNode,
  getNullableType,
  GraphQLError,
  type GraphQLSchema,
  isListType,
  Kind,
  type OperationDefinitionNode,
  type ParseOptions,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { type ComplexityEstimator, getComplexity } from 'graphql-query-complexity';
import { MAX_PAGE_SIZE } from '../../domain/model/index.js';

export const QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX';
export const MAX_DEPTH = 12;
export const MAX_ALIASES = 50;
export const MAX_NODES = 10_000;
/** Far above any real document (the standard introspection query has under 200 tokens). */
export const MAX_TOKENS = 2_000;
/** A list without a `first` argument (a membership's teams, its permissions) is assumed to hold this many items. */
export const ASSUMED_LIST_SIZE = 10;

export const parseOptions: ParseOptions = { maxTokens: MAX_TOKENS };

export const tooComplex = (message: string): GraphQLError => new GraphQLError(message, { extensions: { code: QUERY_TOO_COMPLEX, http: { status: 400 } } });

/** graphql-js's message when the parser stops at maxTokens (16.x spells it "more that"). */
const TOKEN_LIMIT = /^Syntax Error: Document contains more tha[nt] \d+ tokens/;
/** graphql-js's own rule against nested introspection (fields/interfaces/possibleTypes more than 3 deep). */
const INTROSPECTION_DEPTH = /^Maximum introspection depth exceeded/;

/** graphql-js's own size refusals (token limit, nested introspection) as QUERY_TOO_COMPLEX; anything else unchanged. */
export const asCostError = (error: unknown): unknown => {
  if (!(error instanceof GraphQLError) || error.extensions?.code === QUERY_TOO_COMPLEX) return error;
  if (TOKEN_LIMIT.test(error.message)) return tooComplex(`The document has more than ${MAX_TOKENS} tokens, the limit.`);
  if (INTROSPECTION_DEPTH.test(error.message)) return tooComplex('Introspection nested more than 3 levels of fields, interfaces or possible types, the limit.');
  return error;
};

const report = (context: ValidationContext | null, error: GraphQLError) =>
  // GraphQL Armor's messages already name the limit and the value found ("Query depth limit of 12 exceeded, found 14.").
  context?.reportError(tooComplex(error.message.replace(/^Syntax Error: /, '')));

const armor = { exposeLimits: true, propagateOnRejection: false, onReject: [report] };

/** Validation rules for depth and aliases, added to graphql-js's own. */
export const costRules: readonly ValidationRule[] = [
  // Fragments do not add a level: depth is how deep the result nests. Introspection (the
  // standard query is 15 deep) is held by graphql-js's own MaxIntrospectionDepthRule instead.
  maxDepthRule({ ...armor, n: MAX_DEPTH, flattenFragments: true, ignoreIntrospection: true }) as ValidationRule,
  maxAliasesRule({ ...armor, n: MAX_ALIASES }) as ValidationRule,
];

/**
 * Result nodes a field may produce: a connection (a field with `first`) its children
 * `first` times; a list its children ASSUMED_LIST_SIZE times, except a connection's
 * `edges` (already counted by `first`) and introspection lists (bounded by the schema,
 * not by data; nesting them is refused by graphql-js); anything else itself and its children.
 */
const resultNodes: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  const first = args.first;
  if (typeof first === 'number') return 1 + Math.max(first, 0) * childComplexity;
  // `first: null` (or a null variable) pages by the field's default, as its resolver does; a
  // connection without a default is counted at the largest page.
  if (first === null || (first === undefined && field.args.some((a) => a.name === 'first'))) {
    const declared = field.args.find((a) => a.name === 'first')?.defaultValue;
    return 1 + (typeof declared === 'number' ? declared : MAX_PAGE_SIZE) * childComplexity;
  }
  if (!isListType(getNullableType(field.type))) return 1 + childComplexity;
  if (field.name === 'edges' && type.name.endsWith('Connection')) return 1 + childComplexity;
  if (type.name.startsWith('__') || field.name.startsWith('__')) return 1 + childComplexity;
  return ASSUMED_LIST_SIZE * (1 + childComplexity);
};

/** Verdicts per document, keyed by operation and the variables that can change an estimate. */
const verdicts = new WeakMap<DocumentNode, Map<string, GraphQLError | null>>();
const MAX_VERDICTS_PER_DOCUMENT = 32;

/**
 * The operation and the values of the variables it declares that can change an estimate: numbers
 * (`first`), booleans (@skip/@include) and null (a default page). Cursors and ids do not.
 * Variables the operation does not declare are left out (graphql-js ignores them, so they must
 * not pick a verdict), and the key is JSON, so no value can pass for another name's.
 */
const estimateKey = (document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): string => {
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (operationName == null || d.name?.value === operationName),
  );
  const values = (operation?.variableDefinitions ?? []).map((d) => {
    const value = variables?.[d.variable.name.value];
    // Absent (its default applies) is not the same as a value of another type (execution refuses it).
    return typeof value === 'number' || typeof value === 'boolean' || value === null ? value : value === undefined ? '-' : '?';
  });
  return JSON.stringify([operationName ?? null, values]);
};

/**
 * The estimated result size of the operation, or the error refusing it. Call after
 * validation (the document is known to be valid; variables may still be wrong, which
 * execution reports in its own words, so they count as no refusal here). Remembered per
 * document: a client sends the same few documents with the same page sizes again and again.
 */
export const checkResultSize = (
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): GraphQLError | null => {
  let byKey = verdicts.get(document);
  if (!byKey) verdicts.set(document, (byKey = new Map()));
  const key = estimateKey(document, operationName, variables);
  let verdict = byKey.get(key);
  if (verdict === undefined) {
    const estimated = estimate(schema, document, operationName, variables);
    // Variables the estimate could not read: execution refuses them; nothing to remember.
    if (estimated === UNREADABLE_VARIABLES) return null;
    verdict = estimated;
    if (byKey.size >= MAX_VERDICTS_PER_DOCUMENT) byKey.delete(byKey.keys().next().value!);
    byKey.set(key, verdict);
  }
  return verdict;
};

const UNREADABLE_VARIABLES = Symbol('unreadable variables');

const estimate = (
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): GraphQLError | null | typeof UNREADABLE_VARIABLES => {
  let nodes: number;
  try {
    nodes = getComplexity({ schema, query: document, operationName: operationName ?? undefined, variables: variables ?? {}, estimators: [resultNodes] });
  } catch (error) {
    // graphql-query-complexity stops walking past its own limit of selections (fragments spread many times).
    if (error instanceof GraphQLError && /maximum allowed number of nodes/.test(error.message))
      return tooComplex(`The document expands to more than ${MAX_NODES} selections, the limit.`);
    return UNREADABLE_VARIABLES;
  }
  if (nodes > MAX_NODES) return tooComplex(`Estimated result size limit of ${MAX_NODES} nodes exceeded, found ${nodes}: ask for smaller pages (first) or fewer nested lists.`);
  return null;
};
