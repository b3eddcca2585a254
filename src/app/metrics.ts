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
  webhookDeliveries: Counter<'outcome'>;
  webhookLag: Gauge;
  webhookEndpointsDisabled: Gauge;
  samlUnverifiedWaiting: Gauge;
  samlResponses: Counter<'triage'>;
  samlFailuresUnrecorded: Counter;
  /** Read at each scrape for the webhook gauges; the composition root sets it. */
  webhookStats: (() => Promise<{ maxLagEvents: number; disabledEndpoints: number }>) | undefined;
}

export const createMetrics = (options: { defaultMetrics?: boolean } = {}): Metrics => {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'orgway_' });
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
  // One read per scrape serves both webhook gauges.
  let webhookRead: Promise<{ maxLagEvents: number; disabledEndpoints: number } | undefined> | undefined;
  const webhookStats = (): Promise<{ maxLagEvents: number; disabledEndpoints: number } | undefined> =>
    (webhookRead ??= (metrics.webhookStats?.() ?? Promise.resolve(undefined)).finally(() => setImmediate(() => (webhookRead = undefined))));
  const metrics: Metrics = {
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
    webhookDeliveries: new Counter({
      name: 'orgway_webhook_deliveries_total',
      help: 'Webhook delivery attempts by this instance, by outcome (success, http_error, network_error)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookLag: new Gauge({
      name: 'orgway_webhook_lag_events',
      help: 'Events the most-behind enabled webhook endpoint has not been given yet (all instances; counted up to 10000)',
      registers: [registry],
      async collect() {
        const s = await webhookStats();
        if (s) this.set(s.maxLagEvents);
      },
    }),
    webhookEndpointsDisabled: new Gauge({
      name: 'orgway_webhook_endpoints_disabled',
      help: 'Webhook endpoints currently disabled (after their retry window, or by an admin)',
      registers: [registry],
      async collect() {
        const s = await webhookStats();
        if (s) this.set(s.disabledEndpoints);
      },
    }),
    samlUnverifiedWaiting: new Gauge({
      name: 'orgway_saml_unverified_waiting',
      help: 'SAML responses no connection key vouched for, waiting for their turn in the slow lane',
      registers: [registry],
    }),
    samlResponses: new Counter({
      name: 'orgway_saml_responses_total',
      help: 'SAML responses received by the ACS, by triage: vouched (verified at once), unverified (slow lane), busy (refused, lane full)',
      labelNames: ['triage'],
      registers: [registry],
    }),
    samlFailuresUnrecorded: new Counter({
      name: 'orgway_saml_failures_unrecorded_total',
      help: 'Refused SAML sign-ins not written to the failure list (over ORGWAY_SAML_FAILURES_PER_MINUTE for their connection)',
      registers: [registry],
    }),
    webhookStats: undefined,
  };
  return metrics;
};
