/**
 * Per GraphQL server: the parse and validation caches graphql-ws uses (thousands of
 * subscribers send the same few documents), the checks a subscribe message passes before
 * it runs, and bounded operation labels for metrics. Nothing is kept at module level, so
 * two servers in one process (tests, several gateways) share nothing.
 */
import { type DocumentNode, GraphQLError, type GraphQLSchema, parse, specifiedRules, validate } from 'graphql';
import { asCostError, checkResultSize, costRules, parseOptions } from './cost-limits.js';
import { checkVariables, wellFormedLiteralsRule } from './text-input.js';

const MAX_OPERATION_LABELS = 200;
const MAX_CACHED_DOCUMENTS = 500;
/** The rules this gateway adds to graphql-js's own (Apollo adds those itself). */
export const OWN_VALIDATION_RULES = [...costRules, wellFormedLiteralsRule];
const validationRules = [...specifiedRules, ...OWN_VALIDATION_RULES];

export interface GraphQLDocuments {
  /** graphql-js's parse, cached by source text (at most MAX_CACHED_DOCUMENTS). */
  readonly parse: typeof parse;
  /** graphql-js's validate with the default rules and the cost limits, cached per document. */
  readonly validate: typeof validate;
  /**
   * graphql-ws keeps each subscribe message for the life of its subscription; its query
   * text is a copy per subscriber. A query seen before is swapped for the cached copy.
   */
  sharedQueryText(query: string): string;
  /** Parse, validation (cost rules included) and the result-size estimate of a subscribe message. */
  refusalsOf(payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null }): readonly GraphQLError[] | undefined;
  /**
   * Metric label for an operation: its name when it looks like one, and at most
   * MAX_OPERATION_LABELS distinct names, so clients cannot create unbounded series.
   */
  operationLabel(name: string | null | undefined): string;
}

export const createGraphQLDocuments = (schema: GraphQLSchema): GraphQLDocuments => {
  const seenOperationLabels = new Set<string>();
  const parsedDocuments = new Map<string, DocumentNode>();
  const validatedDocuments = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  /** The source text each cached document was parsed from (the Map's key). */
  const documentSources = new WeakMap<DocumentNode, string>();

  const cachedParse = ((source: string) => {
    const hit = parsedDocuments.get(source);
    if (hit) return hit;
    const document = parse(source, parseOptions);
    if (parsedDocuments.size >= MAX_CACHED_DOCUMENTS) parsedDocuments.delete(parsedDocuments.keys().next().value!);
    parsedDocuments.set(source, document);
    documentSources.set(document, source);
    return document;
  }) as typeof parse;

  const cachedValidate = ((schemaArg, document, rules, options, typeInfo) => {
    // Only the default rule set (with the cost limits) is cached: that is all graphql-ws asks for.
    if (rules) return validate(schemaArg, document, rules, options, typeInfo);
    let errors = validatedDocuments.get(document);
    if (!errors) validatedDocuments.set(document, (errors = validate(schemaArg, document, validationRules)));
    return errors;
  }) as typeof validate;

  return {
    parse: cachedParse,
    validate: cachedValidate,
    sharedQueryText(query) {
      const document = parsedDocuments.get(query);
      return (document && documentSources.get(document)) ?? query;
    },
    refusalsOf(payload) {
      const badText = checkVariables(payload.variables);
      if (badText) return [badText];
      let document: DocumentNode;
      try {
        document = cachedParse(payload.query);
      } catch (error) {
        const refused = asCostError(error);
        if (refused instanceof GraphQLError) return [refused];
        throw error;
      }
      const errors = cachedValidate(schema, document);
      if (errors.length) return errors;
      const tooBig = checkResultSize(schema, document, payload.operationName, payload.variables);
      return tooBig ? [tooBig] : undefined;
    },
    operationLabel(name) {
      if (!name) return 'anonymous';
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return 'other';
      if (seenOperationLabels.has(name)) return name;
      if (seenOperationLabels.size >= MAX_OPERATION_LABELS) return 'other';
      seenOperationLabels.add(name);
      return name;
    },
  };
};
