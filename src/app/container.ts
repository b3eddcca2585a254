/**
 * The one composition root: configuration, database, clock, event hub and
 * services. Everything else receives what it needs from here.
 */
import { pino, type Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Principal } from '../domain/access.js';
import { ACCESS_CHANNEL, AccessWatch } from '../domain/events/access-watch.js';
import { EventHub } from '../domain/events/event-hub.js';
import { EVENTS_CHANNEL } from '../domain/events/event-log.js';
import { type EventStream, type EventStreamOptions, openEventStream } from '../domain/events/event-stream.js';
import { DomainService } from '../domain/domains/domain-service.js';
import { EmailSignInService } from '../domain/email-sign-in/email-sign-in-service.js';
import { IdentityService } from '../domain/identity/identity-service.js';
import { InvitationService } from '../domain/invitations/invitation-service.js';
import { OutboxSender } from '../domain/invitations/sender.js';
import { MembershipService } from '../domain/membership/membership-service.js';
import { OrganizationService } from '../domain/organization/organization-service.js';
import { ReadScope } from '../domain/read-scope.js';
import { type Clock, systemClock } from '../domain/runtime.js';
import { ScimService } from '../domain/scim/scim-service.js';
import { SamlConnectionService } from '../domain/saml-connections/connection-service.js';
import { SamlSignInService } from '../domain/saml-sign-in/sign-in-service.js';
import { TeamService } from '../domain/team/team-service.js';
import { TokenService } from '../domain/tokens/token-service.js';
import { createTransactionRunner, type TransactionRunner } from '../domain/unit-of-work.js';
import { type EventWakeSource, PgliteListenSource, PostgresListenSource } from '../persistence/event-wake-sources.js';
import { type Database, openDatabase } from '../persistence/orm.js';
import { createTxtResolver } from '../transports/dns/txt-resolver.js';
import { createSmtpTransport } from '../transports/mail/smtp-transport.js';
import { samlifyMetadataParser } from '../transports/saml/samlify-entities.js';
import { createMetrics, type Metrics } from './metrics.js';

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
  /** The read side for one request. */
  readScope(principal: Principal): ReadScope;
  /** A membership event stream for one subscriber; rejects with NOT_FOUND / FORBIDDEN / BAD_USER_INPUT before it starts. */
  eventStream(options: EventStreamOptions): Promise<EventStream>;
  /** Is the database reachable and fully migrated? */
  readiness(): Promise<{ ready: boolean; reason?: string }>;
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
  /** Start the event hub and the outbox sender (default true). */
  startBackground?: boolean;
}

export const createContainer = async (config: Config, options: ContainerOptions = {}): Promise<Container> => {
  const log = options.logger ?? pino({ level: config.logLevel, base: { service: 'orgway' } });
  const clock = options.clock ?? systemClock;
  const metrics = createMetrics();
  const db = options.db ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  const ownsDb = !options.db;
  const stopCounting = db.observeStatements(() => metrics.sqlStatements.inc());

  const migrate = options.migrate ?? db.kind === 'pglite';
  if (migrate) await db.orm.migrator.up();
  const pending = await db.orm.migrator.getPending();
  if (pending.length > 0) {
    if (ownsDb) await db.close();
    throw new NotMigratedError(
      `The database has ${pending.length} pending migration(s) (${pending.map((m) => m.name).join(', ')}). Run \`orgway migrate\` first.`,
    );
  }

  const tx = createTransactionRunner(db, clock, { eventsAppended: (n) => metrics.eventsPublished.inc(n) });
  const tokens = new TokenService(tx, clock, {
    issuer: config.publicUrl,
    audience: config.accessTokenAudience,
    ttlSeconds: config.accessTokenTtlSeconds,
  });
  await tokens.ensureSigningKey();

  const wakeSource: EventWakeSource =
    db.kind === 'pglite' && db.pglite
      ? new PgliteListenSource(db.pglite, EVENTS_CHANNEL)
      : new PostgresListenSource(db.databaseUrl!, EVENTS_CHANNEL, (error) => log.warn({ err: error }, 'event listener connection lost; reconnecting'));
  const events = new EventHub(
    () => db.em(),
    wakeSource,
    { published: (n) => metrics.eventsDelivered.inc(n) },
    5_000,
    (error) => log.error({ err: error }, 'reading the membership event log failed'),
  );
  const accessSource: EventWakeSource =
    db.kind === 'pglite' && db.pglite
      ? new PgliteListenSource(db.pglite, ACCESS_CHANNEL)
      : new PostgresListenSource(db.databaseUrl!, ACCESS_CHANNEL, (error) => log.warn({ err: error }, 'trust-change listener connection lost; reconnecting'), 'orgway-access');
  const accessWatch = new AccessWatch(events, () => db.em(), accessSource, config.sessionRecheckMs, (error) =>
    log.error({ err: error }, 're-checking subscriptions against trust changes failed'),
  );
  const outbox = new OutboxSender({
    db,
    transport: config.smtpUrl ? createSmtpTransport(config.smtpUrl) : null,
    from: config.mailFrom,
    log: log.child({ component: 'outbox' }),
    clock,
  });

  if (options.startBackground !== false) {
    await events.start();
    await accessWatch.start();
    outbox.start();
  }

  const identity = new IdentityService(tx, clock, config.sessionTtlSeconds);
  const organizations = new OrganizationService(tx);
  const memberships = new MembershipService(tx, tokens, config.publicUrl, () => outbox.wake());
  const emailSignIn = new EmailSignInService(tx, {
    sessionTtlSeconds: config.sessionTtlSeconds,
    signUp: config.emailSignUp,
    publicUrl: config.publicUrl,
    mailEnqueued: () => outbox.wake(),
  });
  const invitations = new InvitationService(tx, config.sessionTtlSeconds);
  const domains = new DomainService(tx, createTxtResolver(config.dnsServers));
  const teams = new TeamService(tx);
  const scim = new ScimService(tx);
  const samlSignIn = new SamlSignInService(tx, config.sessionTtlSeconds);
  const samlConnections = new SamlConnectionService(tx, samlifyMetadataParser, (id) => {
    samlSignIn.forget(id);
    void accessWatch.recheck();
  });

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
    readScope: (principal) => new ReadScope(db.sql, principal),
    eventStream: (o) => openEventStream(events, () => db.em(), o),
    accessWatch,
    async readiness() {
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
      await events.stop();
      await outbox.stop();
      stopCounting();
      if (ownsDb) await db.close();
    },
  };
};
