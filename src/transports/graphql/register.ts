/** GraphQL over HTTP (Apollo on Fastify) and graphql-ws subscriptions on the same path. */
import { ApolloServer } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GraphQLFormattedError } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { makeHandler } from 'graphql-ws/use/@fastify/websocket';
import type { Container } from '../../app/container.js';
import { isDomainError } from '../../domain/model/index.js';
import { authenticate } from '../http/authentication.js';
import { createContext, type GraphQLContext } from './context.js';
import { formatGraphQLError } from './errors.js';
import { buildGraphQLSchema } from './schema.js';

export interface GraphQLTransport {
  /** Ends every subscription with close code 1001 (going away), for draining. */
  closeSubscriptions(): void;
  stop(): Promise<void>;
}

export const registerGraphQL = async (app: FastifyInstance, container: Container): Promise<GraphQLTransport> => {
  const schema = await buildGraphQLSchema();
  const formatError = formatGraphQLError(container.log);
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError,
    csrfPrevention: true,
    introspection: true,
    // We drain ourselves on SIGTERM (STACK.md P3).
    stopOnTerminationSignals: false,
    plugins: [
      {
        async requestDidStart({ request }) {
          const started = process.hrtime.bigint();
          return {
            async willSendResponse({ errors }) {
              const seconds = Number(process.hrtime.bigint() - started) / 1e9;
              container.metrics.operationDuration.observe(
                { transport: 'graphql', operation: request.operationName ?? 'anonymous', outcome: errors?.length ? 'error' : 'ok' },
                seconds,
              );
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  const context = async (request: FastifyRequest, _reply: FastifyReply): Promise<GraphQLContext> => {
    const { principal, viaCookie } = await authenticate(container, request);
    return createContext(container, principal, viaCookie);
  };
  const handler = fastifyApolloHandler(apollo, { context });

  const sockets = new Set<{ close(code: number, reason: string): void }>();
  const wsHandler = makeHandler<Record<string, unknown> | undefined, { graphqlContext?: GraphQLContext }>({
    schema,
    async onConnect(ctx) {
      // Refusals close with 4401/4403 and a reason that says what to fix.
      const refuse = (code: number, message: string) => {
        ctx.extra.socket.close(code, message.slice(0, 120));
        return false;
      };
      try {
        const bearer = typeof ctx.connectionParams?.authorization === 'string' ? ctx.connectionParams.authorization : undefined;
        const { principal, viaCookie } = await authenticate(container, ctx.extra.request, bearer);
        if (!principal) return refuse(CloseCode.Unauthorized, 'Unauthenticated: pass { authorization: "Bearer <token>" } in connection_init');
        ctx.extra.graphqlContext = createContext(container, principal, viaCookie);
        return true;
      } catch (error) {
        if (isDomainError(error)) return refuse(error.code === 'FORBIDDEN' ? CloseCode.Forbidden : CloseCode.Unauthorized, `${error.code}: ${error.message}`);
        throw error;
      }
    },
    context: (ctx) => {
      const base = ctx.extra.graphqlContext!;
      // A fresh read scope per operation; the principal is the connection's.
      return createContext(container, base.principal, base.viaCookie);
    },
    onNext: (_ctx, _id, _payload, _args, result) => {
      if (!result.errors?.length) return result;
      return { ...result, errors: result.errors.map((e) => formatError(e.toJSON?.() ?? (e as GraphQLFormattedError), e)) };
    },
  });

  app.route({
    method: 'GET',
    url: '/graphql',
    handler: handler as never,
    wsHandler(socket, request) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      return wsHandler.call(this, socket, request);
    },
  });
  app.route({ method: ['POST', 'OPTIONS'], url: '/graphql', handler: handler as never });

  return {
    closeSubscriptions() {
      for (const s of sockets) s.close(1001, 'server shutting down');
    },
    stop: () => apollo.stop(),
  };
};
