/** Maps domain errors to GraphQL errors once; anything unexpected is masked and logged. */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { isDomainError } from '../../domain/model/index.js';

const originalOf = (error: unknown): unknown => {
  let e = error;
  // Apollo and graphql-js wrap resolver errors; find the one we threw.
  while (e && typeof e === 'object' && 'originalError' in e && (e as { originalError?: unknown }).originalError) e = (e as { originalError: unknown }).originalError;
  return e;
};

export const formatGraphQLError =
  (log: Logger) =>
  (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = originalOf(error);
    if (isDomainError(original))
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: original.code, ...original.details },
      };
    const code = formatted.extensions?.code;
    // graphql-js validation and parse errors, and Apollo's own coded errors, are the client's to fix.
    if (original instanceof GraphQLError || (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR')) {
      const mapped = code === 'GRAPHQL_VALIDATION_FAILED' || code === 'GRAPHQL_PARSE_FAILED' || code === 'BAD_REQUEST' ? 'BAD_USER_INPUT' : code;
      return { ...formatted, extensions: { ...formatted.extensions, code: mapped ?? 'BAD_USER_INPUT' } };
    }
    log.error({ err: original, path: formatted.path }, 'unexpected error in a GraphQL operation');
    return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
