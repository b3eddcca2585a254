/**
 * The one composition root: configuration, database, clock, event hub and
 * services. Everything else receives what it needs from here.
 */
import { pino, type Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Principal } from '../domain/access.js';
import { ACCESS_CHANNEL, AccessWatch } from '../domain/events/access-watch.js';
import { AuditLog } from '../domain/events/audit-log.js';
import { EventHub } from '../domain/events/event-hub.js';
import { Housekeeping } from '../domain/housekeeping.js';
import { CommitNotifier, EVENTS_CHANNEL } from '../domain/events/event-log.js';
import { type EventStream, type EventStreamOptions, openEventStream } from '../domain/events/event-stream.js';
import { DomainService } from '../domain/domains/domain-service.js';
import { EmailSignInService } from '../domain/email-sign-in/email-sign-in-service.js';
import { IdentityService } from '../domain/identity/identity-service.js';
import { InvitationService } from '../domain/invitations/invitation-service.js';
import { OutboxSender } from '../domain/invitations/sender.js';
import { MembershipService } from '../domain/membership/membership-service.js';
import { OrganizationService } from '../domain/organization/organization-service.js';
import { ReadScope } from '../domain/read/read-scope.js';
import { type Clock, systemClock } from '../domain/runtime.js';
import { ScimService } from '../domain/scim/scim-service.js';
import { SamlConnectionService } from '../domain/saml-connections/connection-service.js';
import { SamlSignInService } from '../domain/saml-sign-in/sign-in-service.js';
import { TeamService } from '../domain/team/team-service.js';
import { TokenService } from '../domain/tokens/token-service.js';
import { WebhookDispatcher } from '../domain/webhooks/dispatcher.js';
import { WebhookService } from '../domain/webhooks/webhook-service.js';
import { createTransactionRunner, type TransactionRunner } from '../domain/unit-of-work.js';
import { type EventWakeSource, PgliteListenSource, PostgresListenSource } from '../persistence/event-wake-sources.js';
import { asBackground, type Database, openDatabase } from '../persistence/orm.js';
import { checkPoolMode } from '../persistence/pooler-checks.js';
import { samlifyMetadataParser } from '../adapters/samlify-metadata-parser.js';
import { createSmtpTransport } from '../adapters/smtp-transport.js';
import { createTxtResolver } from '../adapters/txt-resolver.js';
import { createWebhookHttpClient, type Resolver } from '../adapters/webhook-http-client.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createRateLimits, type RateLimits } from './rate-limits.js';

export interface Container {
  readonly config: Config;
  readonly db: Database;
  readonly log: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
  readonly tx: TransactionRunner;
  readonly identity: IdentityService;
  readonly organizations: OrganizationService;
  readonly memberships: MembershipService;
  readonly teams: TeamService;
  /** SCIM 2.0 provisioning: tokens, Users, Groups (src/domain/scim). */
  readonly scim: ScimService;
  /** SAML sign-in (SPEC §2) and connection management (src/domain/saml-*). */
  readonly samlSignIn: SamlSignInService;
  readonly samlConnections: SamlConnectionService;
  readonly tokens: TokenService;
  /** Email codes and links, home-realm discovery (SPEC §7). */
  readonly emailSignIn: EmailSignInService;
  /** Invitation links (SPEC §7). */
  readonly invitations: InvitationService;
  /** Verified domains (SPEC §7). */
  readonly domains: DomainService;
  readonly events: EventHub;
  /** Ends subscriptions whose organization no longer accepts their session. */
  readonly accessWatch: AccessWatch;
  readonly outbox: OutboxSender;
  /** Removes expired and surplus rows on a timer. */
  readonly housekeeping: Housekeeping;
  /** SPEC §8 rate limits per client address and per credential (src/app/rate-limits.ts). */
  readonly rateLimits: RateLimits;
  /** Organization.events (SPEC §10). */
  readonly auditLog: AuditLog;
  /** Webhook endpoints (SPEC §10) and the dispatcher that delivers to them. */
  readonly webhooks: WebhookService;
  readonly webhookDispatcher: WebhookDispatcher;
  /** The read side for one request. */
  readScope(principal: Principal): ReadScope;
  /** A membership event stream for one subscriber; rejects with NOT_FOUND / FORBIDDEN / BAD_USER_INPUT before it starts. */
  eventStream(options: EventStreamOptions): Promise<EventStream>;
  /** Is the database reachable and fully migrated? */
  readiness(): Promise<{ ready: boolean; reason?: string }>;
  /** Liveness: false when the event hub has not read the log for ORGWAY_EVENT_STALL_MS (a restart may help). */
  liveness(): { live: boolean; reason?: string };
  close(): Promise<void>;
}

export class NotMigratedError extends Error {
  override readonly name = 'NotMigratedError';
}

export interface ContainerOptions {
  /** Use this database instead of opening one from the config (tests). */
  db?: Database;
  clock?: Clock;
  logger?: Logger;
  /**
   * Apply pending migrations at start. Default: yes for the embedded database
   * (zero set-up), no for PostgreSQL (run `orgway migrate`; serving refuses until then).
   */
  migrate?: boolean;
  /** Start the event hub, the outbox sender and the webhook dispatcher (default true). */
  startBackground?: boolean;
  /** Name resolution of the webhook HTTP client (tests: a name that resolves to a chosen address). */
  webhookResolver?: Resolver;
}

export const createContainer = async (config: Config, options: ContainerOptions = {}): Promise<Container> => {
  const log = options.logger ?? pino({ level: config.logLevel, base: { service: 'orgway' } });
  const clock = options.clock ?? systemClock;
  const metrics = createMetrics();
  const db =
    options.db ??
    (await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolMax: config.database.poolMax,
      limits: config.database,
      preparedStatements: config.database.preparedStatements,
      transactionPooler: config.database.poolMode === 'transaction',
    }));
  const ownsDb = !options.db;
  const stopCounting = db.observeStatements(() => metrics.sqlStatements.inc());

  // A pooler that cannot work with this configuration is refused before anything else.
  if (db.kind === 'postgres' && db.databaseUrl)
    await checkPoolMode(db.databaseUrl, config.database).catch(async (error: unknown) => {
      if (ownsDb) await db.close();
      throw error;
    });
  const migrate = options.migrate ?? db.kind === 'pglite';
  if (migrate) await db.orm.migrator.up();
  const pending = await db.orm.migrator.getPending();
  if (pending.length > 0) {
    if (ownsDb) await db.close();
    throw new NotMigratedError(
      `The database has ${pending.length} pending migration(s) (${pending.map((m) => m.name).join(', ')}). Run \`orgway migrate\` first.`,
    );
  }

  // After a commit that appended events: wake this instance's hub now, and every instance's
  // through NOTIFY, sent outside the transaction (event-log.ts).
  let wakeHub = () => undefined as void;
  const notifier = new CommitNotifier(db.sql, (error) => log.warn({ err: error }, 'notifying other instances of new events failed; they will poll'));
  const tx = createTransactionRunner(db, clock, {
    eventsAppended: (n) => {
      metrics.eventsPublished.inc(n);
      // What follows a commit is the gateway's work, not the request's.
      asBackground(() => {
        wakeHub();
        notifier.notify();
      });
    },
  });
  const tokens = new TokenService(tx, clock, {
    issuer: config.publicUrl,
    audience: config.accessTokenAudience,
    ttlSeconds: config.accessTokenTtlSeconds,
  });
  await tokens.ensureSigningKey();

  const webhookHttp = createWebhookHttpClient({
    allowPrivate: config.webhookAllowPrivate,
    timeoutMs: config.webhookTimeoutMs,
    ...(options.webhookResolver ? { resolve: options.webhookResolver } : {}),
  });
  for (const outcome of ['success', 'http_error', 'network_error']) metrics.webhookDeliveries.inc({ outcome }, 0);
  for (const triage of ['vouched', 'unverified', 'busy']) metrics.samlResponses.inc({ triage }, 0);
  const webhookDispatcher = new WebhookDispatcher({
    db,
    http: webhookHttp,
    log: log.child({ component: 'webhooks' }),
    clock,
    concurrency: config.webhookConcurrency,
    // Sends stop at half the lease: a request started then still ends well inside it.
    leaseMs: Math.max(60_000, config.webhookTimeoutMs * 4),
    stats: { attempted: (outcome) => metrics.webhookDeliveries.inc({ outcome }) },
  });

  const listenSource: EventWakeSource =
    db.kind === 'pglite' && db.pglite
      ? new PgliteListenSource(db.pglite, EVENTS_CHANNEL)
      : new PostgresListenSource(
          config.databaseListenUrl ?? db.databaseUrl!,
          EVENTS_CHANNEL,
          (error) => log.warn({ err: error }, 'event listener connection lost; reconnecting'),
          config.database,
          config.eventPollMs,
          async (channel) => void (await db.sql.execute("select pg_notify(?, '')", [channel])),
        );
  // The bus's notification wakes the hub and the webhook dispatcher alike.
  const wakeSource: EventWakeSource = {
    start: (wake) =>
      listenSource.start(() => {
        wake();
        webhookDispatcher.wake();
      }),
    stop: () => listenSource.stop(),
  };
  const events = new EventHub(() => db.em(), wakeSource, { published: (n) => metrics.eventsDelivered.inc(n) }, {
    pollIntervalMs: config.eventPollMs,
    stallAfterMs: config.eventStallMs,
    readTimeoutMs: config.database.statementTimeoutMs + 2_000,
    onError: (error) => log.error({ err: error }, 'reading the membership event log failed'),
  });
  if (options.startBackground !== false) wakeHub = () => events.wake();
  const accessSource: EventWakeSource =
    db.kind === 'pglite' && db.pglite
      ? new PgliteListenSource(db.pglite, ACCESS_CHANNEL)
      : new PostgresListenSource(
          config.databaseListenUrl ?? db.databaseUrl!,
          ACCESS_CHANNEL,
          (error) => log.warn({ err: error }, 'trust-change listener connection lost; reconnecting'),
          config.database,
          config.eventPollMs,
          undefined,
          'orgway-access',
        );
  const accessWatch = new AccessWatch(events, () => db.em(), accessSource, config.sessionRecheckMs, (error) =>
    log.error({ err: error }, 're-checking subscriptions against trust changes failed'),
  );
  const housekeeping = new Housekeeping(tx, config.housekeepingMs, (error) => log.warn({ err: error }, 'housekeeping failed; trying again at the next interval'));
  const outbox = new OutboxSender({
    db,
    transport: config.smtpUrl ? createSmtpTransport(config.smtpUrl) : null,
    from: config.mailFrom,
    log: log.child({ component: 'outbox' }),
    clock,
  });

  if (options.startBackground !== false) {
    try {
      await asBackground(async () => {
        await events.start();
        await accessWatch.start();
      });
    } catch (error) {
      await events.stop();
      if (ownsDb) await db.close();
      throw error;
    }
    asBackground(() => {
      outbox.start();
      housekeeping.start();
      webhookDispatcher.start();
    });
  }

  const identity = new IdentityService(tx, clock, config.sessionTtlSeconds);
  const organizations = new OrganizationService(tx);
  const memberships = new MembershipService(tx, tokens, config.publicUrl, () => asBackground(() => outbox.wake()));
  const emailSignIn = new EmailSignInService(tx, {
    sessionTtlSeconds: config.sessionTtlSeconds,
    signUp: config.emailSignUp,
    publicUrl: config.publicUrl,
    mailEnqueued: () => asBackground(() => outbox.wake()),
  });
  const invitations = new InvitationService(tx, config.sessionTtlSeconds);
  const domains = new DomainService(tx, createTxtResolver(config.dnsServers));
  const teams = new TeamService(tx);
  const scim = new ScimService(tx);
  const samlSignIn = new SamlSignInService(tx, config.sessionTtlSeconds);
  const samlConnections = new SamlConnectionService(tx, samlifyMetadataParser, (id) => {
    samlSignIn.forget(id);
    void asBackground(() => accessWatch.recheck());
  });
  const rateLimits = asBackground(() => createRateLimits(config.rateLimits, { perAddressPerMinute: config.authRatePerAddress, emailsPerTenMinutes: config.emailRatePerEmail }, db.pgPool, (error) => log.warn({ err: error }, 'rate-limit store unreachable; counting in memory')));
  const webhooks = new WebhookService(tx, webhookHttp, () => asBackground(() => webhookDispatcher.endpointsChanged()));
  metrics.webhookStats = () => webhooks.stats();

  return {
    config,
    db,
    log,
    clock,
    metrics,
    tx,
    identity,
    organizations,
    memberships,
    teams,
    scim,
    samlSignIn,
    samlConnections,
    tokens,
    emailSignIn,
    invitations,
    domains,
    events,
    outbox,
    housekeeping,
    rateLimits,
    auditLog: new AuditLog(tx),
    webhooks,
    webhookDispatcher,
    readScope: (principal) => new ReadScope(db.sql, principal),
    eventStream: (o) => openEventStream(events, () => db.em(), o),
    accessWatch,
    liveness() {
      if (!events.stalled) return { live: true };
      return { live: false, reason: `the membership event log has not been read for ${events.sinceLastReadMs} ms` };
    },
    async readiness() {
      if (events.stalled) return { ready: false, reason: `the membership event log has not been read for ${events.sinceLastReadMs} ms` };
      try {
        const pendingNow = await db.orm.migrator.getPending();
        if (pendingNow.length)
          return {
            ready: false,
            reason: `${pendingNow.length} pending migration(s) (${pendingNow.map((m) => m.name).join(', ')}); run \`orgway migrate\``,
          };
        return { ready: true };
      } catch (error) {
        return { ready: false, reason: `database unreachable: ${(error as Error).message}` };
      }
    },
    async close() {
      await accessWatch.stop();
      await rateLimits.stop();
      await events.stop();
      await outbox.stop();
      await housekeeping.stop();
      await webhookDispatcher.stop();
      webhookHttp.close();
      await notifier.close();
      stopCounting();
      if (ownsDb) await db.close();
    },
  };
};
