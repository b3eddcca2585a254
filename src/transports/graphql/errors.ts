/** Maps domain errors to GraphQL errors once; anything unexpected is masked and logged. */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import type { ApolloServerPlugin } from '@apollo/server';
import { isDomainError } from '../../domain/model/index.js';
import { RETRY_AFTER_SECONDS, unavailableOr } from '../../domain/unavailable.js';
import { asCostError } from './cost-limits.js';

/** Codes the transport gives its own refusals (SPEC §8). */
const OWN_CODES = new Set(['QUERY_TOO_COMPLEX', 'RATE_LIMITED', 'BAD_USER_INPUT']);

const originalOf = (error: unknown): unknown => {
  let e = error;
  // Apollo and graphql-js wrap resolver errors; find the one we threw.
  while (e && typeof e === 'object' && 'originalError' in e && (e as { originalError?: unknown }).originalError) e = (e as { originalError: unknown }).originalError;
  return e;
};

export const formatGraphQLError =
  (log: Logger) =>
  (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unavailableOr(asCostError(originalOf(error)));
    if (isDomainError(original))
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: original.code, ...original.details },
      };
    // A limit's own code survives Apollo wrapping its validation error as GRAPHQL_VALIDATION_FAILED.
    const ownCode = original instanceof GraphQLError ? original.extensions?.code : undefined;
    const code = typeof ownCode === 'string' && OWN_CODES.has(ownCode) ? ownCode : formatted.extensions?.code;
    // graphql-js validation and parse errors, and Apollo's own coded errors, are the client's to fix.
    if (original instanceof GraphQLError || (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR')) {
      const mapped = code === 'GRAPHQL_VALIDATION_FAILED' || code === 'GRAPHQL_PARSE_FAILED' || code === 'BAD_REQUEST' ? 'BAD_USER_INPUT' : code;
      const { http: _http, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, message: original instanceof GraphQLError && code !== formatted.extensions?.code ? original.message : formatted.message, extensions: { ...extensions, code: mapped ?? 'BAD_USER_INPUT' } };
    }
    log.error({ err: original, path: formatted.path }, 'unexpected error in a GraphQL operation');
    return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };

/**
 * WebSocket close code 1013 ("try again later"): the server cannot serve subscriptions right
 * now (database unavailable, event log unreadable). graphql-ws clients reconnect on it;
 * resubscribe with `after` set to the last event id received and nothing is missed.
 */
export const TRY_AGAIN_LATER = 1013;

/** An HTTP response carrying an `UNAVAILABLE` error is a 503 with `Retry-After`, whatever else it holds. */
export const unavailableStatusPlugin = (): ApolloServerPlugin => ({
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
        if (!errors?.some((e) => e.extensions?.code === 'UNAVAILABLE')) return;
        response.http.status = 503;
        response.http.headers.set('retry-after', String(RETRY_AFTER_SECONDS));
      },
    };
  },
});

/** The GraphQL error to throw while building a request's context when the database is away. */
export const unavailableHttpExtensions = () => ({
  http: { status: 503, headers: new Map([['retry-after', String(RETRY_AFTER_SECONDS)]]) },
});
