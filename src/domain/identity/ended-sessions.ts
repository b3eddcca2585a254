/**
 * Which of these sessions (or API tokens) can no longer authenticate: signed out
 * (revoked), expired, or gone. Long-lived connections (graphql-ws) authenticate once
 * at connection_init and ask this periodically, in one statement for all of them,
 * so a signOut on any gateway instance ends them within the check interval.
 */
import type { TransactionRunner } from '../unit-of-work.js';
import { liveSessionSql } from './live-session.js';

export const endedSessions = async (tx: TransactionRunner, now: Date, sessionIds: readonly string[]): Promise<Set<string>> => {
  if (sessionIds.length === 0) return new Set();
  const rows = await tx.read((em) =>
    em.execute<{ id: string }[]>(
      `select ids.id from (select jsonb_array_elements_text(?::jsonb) as id) ids
        where not exists (select 1 from sessions s
                           where s.id = ids.id and ${liveSessionSql('s')})`,
      [JSON.stringify([...new Set(sessionIds)]), now],
    ),
  );
  return new Set(rows.map((r) => r.id));
};
