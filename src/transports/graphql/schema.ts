/** Builds the executable schema; `schema.graphql` at the top level is its committed print. */
import { type GraphQLSchema, printSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchema } from 'type-graphql';
import { holdListFieldsToBudget } from './list-items.js';
import { RESOLVERS } from './resolvers.js';

let built: Promise<GraphQLSchema> | undefined;

/** The schema is the same for every instance in a process; build it once. */
export const buildGraphQLSchema = (): Promise<GraphQLSchema> =>
  (built ??= buildSchema({
    resolvers: RESOLVERS,
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    validate: false,
    // Our only subscription has its own `subscribe` (the event hub); type-graphql still insists on a PubSub.
    pubSub: {
      publish: () => undefined,
      subscribe: () => {
        throw new Error('orgway subscriptions use the event hub, not a PubSub');
      },
    },
  }).then((schema) => {
    holdListFieldsToBudget(schema);
    return schema;
  }));

export const printGraphQLSchema = async (): Promise<string> => printSchema(await buildGraphQLSchema()) + '\n';
