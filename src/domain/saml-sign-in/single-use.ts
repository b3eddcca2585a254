/**
 * The single-use checks of a sign-in, inside its transaction: atomic statements on unique
 * keys, so they hold across gateway instances and a refused sign-in leaves them unspent.
 */
import { truncate } from '../model/index.js';
import { newId } from '../runtime.js';
import type { UnitOfWork } from '../unit-of-work.js';
import { samlRejected } from './rejections.js';
import type { VerifiedSamlAssertion } from './types.js';

/**
 * An answer to a request started here consumes that request and takes its organization as
 * the RelayState (a different RelayState is refused); an IdP-initiated one keeps its own.
 */
export const consumeInResponseTo = async (uow: UnitOfWork, a: VerifiedSamlAssertion): Promise<string | null> => {
  const relayState = a.relayState?.trim() ? a.relayState.trim() : null;
  if (a.inResponseTo === null) return relayState;
  const rows = await uow.em.execute<{ organization_id: string | null }[]>(
    `update saml_requests set used_at = ? where id = ? and connection_id = ? and used_at is null and expires_at > ? returning organization_id`,
    [uow.now, a.inResponseTo, a.connectionId, uow.now],
  );
  const request = rows[0];
  if (!request)
    throw samlRejected('The response answers a sign-in request that was already used, has expired, or was not started here. Start the sign-in again.', {
      reason: 'IN_RESPONSE_TO',
      inResponseTo: truncate(a.inResponseTo),
    });
  if (relayState !== null && relayState !== request.organization_id)
    throw samlRejected('The RelayState does not match the organization this sign-in was started for. Start the sign-in again.', { reason: 'RELAY_STATE_MISMATCH' });
  return request.organization_id;
};

/**
 * How long a used-assertion record outlives both the assertion and now: a response is verified at
 * the time it arrived and may be handled a little later (the ACS lets unverified responses wait
 * up to 30 s), so a copy that arrived in time must still find the record when its turn comes.
 */
const REPLAY_RECORD_MARGIN_MS = 60_000;

/** The assertion id, once per connection until it expires (a concurrent insert of the same id waits, then finds it). */
export const reserveAssertion = async (uow: UnitOfWork, a: VerifiedSamlAssertion): Promise<void> => {
  const keepUntil = new Date(Math.max(a.expiresAt.getTime(), uow.now.getTime()) + REPLAY_RECORD_MARGIN_MS);
  const inserted = await uow.em.execute<{ id: string }[]>(
    `insert into used_assertions (id, connection_id, assertion_id, expires_at, created_at) values (?, ?, ?, ?, ?)
     on conflict (connection_id, assertion_id) do nothing returning id`,
    [newId('uas'), a.connectionId, a.assertionId, keepUntil, uow.now],
  );
  if (inserted.length === 0) throw samlRejected('This SAML assertion was already used. Sign in again at your identity provider.', { reason: 'REPLAY' });
};
