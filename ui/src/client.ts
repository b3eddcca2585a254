/**
 * The GraphQL client of the hosted pages: urql over HTTP (same origin, the session cookie)
 * and graphql-ws for subscriptions on the same path.
 */
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from 'urql';
import { createClient as createWsClient, type FormattedExecutionResult } from 'graphql-ws';

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;

/** Close codes after which reconnecting with the same cookie cannot help (signed out, refused). */
const FATAL_CLOSE_CODES = new Set([4401, 4403]);

export const wsClient = createWsClient({
  url: wsUrl,
  lazy: true,
  retryAttempts: 30,
  shouldRetry: (event) => !(event instanceof CloseEvent && FATAL_CLOSE_CODES.has(event.code)),
});

interface EventPayload {
  query: string;
  variables: Record<string, unknown>;
}

/** The last event id a subscription result carries (membershipChanged { id }), if any. */
const lastEventId = (result: FormattedExecutionResult<Record<string, unknown>, unknown>): string | undefined => {
  const data = result.data as Record<string, { id?: unknown } | null> | null | undefined;
  if (!data) return undefined;
  for (const value of Object.values(data)) if (value && typeof value.id === 'string') return value.id;
  return undefined;
};

export const client = new Client({
  url: '/graphql',
  // POST with a JSON body: what the server's CSRF rules accept for cookie sessions.
  preferGetMethod: false,
  fetchOptions: { credentials: 'same-origin' },
  exchanges: [
    cacheExchange,
    fetchExchange,
    subscriptionExchange({
      forwardSubscription(request) {
        // graphql-ws re-sends this same payload after a reconnect, so moving `after` forward
        // as events arrive resumes from the last one seen: no gap, no duplicate.
        const payload: EventPayload = { query: request.query ?? '', variables: { ...(request.variables ?? {}) } };
        return {
          subscribe(sink) {
            const unsubscribe = wsClient.subscribe(payload, {
              next(result) {
                const id = lastEventId(result);
                if (id !== undefined && 'after' in payload.variables) payload.variables.after = id;
                sink.next(result as never);
              },
              error: (error) => sink.error(error),
              complete: () => sink.complete(),
            });
            return { unsubscribe };
          },
        };
      },
    }),
  ],
});
