/** Prometheus metrics of one gateway instance (its own registry, so tests can run several). */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  operationDuration: Histogram<'transport' | 'operation' | 'outcome'>;
  activeSubscriptions: Gauge;
  eventsPublished: Counter;
  eventsDelivered: Counter;
  sqlStatements: Counter;
  compiledOperations: Gauge;
}

export const createMetrics = (options: { defaultMetrics?: boolean } = {}): Metrics => {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'orgway_' });
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'orgway_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets,
      registers: [registry],
    }),
    operationDuration: new Histogram({
      name: 'orgway_operation_duration_seconds',
      help: 'Duration of GraphQL operations (by name), SAML sign-ins and SCIM requests',
      labelNames: ['transport', 'operation', 'outcome'],
      buckets,
      registers: [registry],
    }),
    activeSubscriptions: new Gauge({
      name: 'orgway_active_subscriptions',
      help: 'membershipChanged subscriptions currently open on this instance',
      registers: [registry],
    }),
    eventsPublished: new Counter({
      name: 'orgway_membership_events_published_total',
      help: 'Membership events appended to the log by this instance',
      registers: [registry],
    }),
    eventsDelivered: new Counter({
      name: 'orgway_membership_events_read_total',
      help: 'Membership events read from the log by this instance for fan-out',
      registers: [registry],
    }),
    sqlStatements: new Counter({
      name: 'orgway_sql_statements_total',
      help: 'SQL statements sent to the database',
      registers: [registry],
    }),
    compiledOperations: new Gauge({
      name: 'orgway_graphql_compiled_operations',
      help: 'GraphQL operations kept compiled (graphql-jit) by this instance',
      registers: [registry],
    }),
  };
};
