/**
 * Housekeeping: expired and surplus rows go on the timer's pass, never on a use case's path;
 * rows still in force stay.
 */
import { expect, test } from 'vitest';
import { FAILURES_KEPT_PER_CONNECTION } from '../../src/domain/housekeeping.js';
import { rows } from '../kit/db.js';
import { useSamlWorld } from '../kit/saml-world.js';

const w = useSamlWorld();

const count = async (sql: string, params: unknown[] = []) => Number((await rows<{ n: number }>(w.gw, sql, params))[0]!.n);

test('one pass removes expired requests, used assertions and old challenges, and failures beyond the newest per connection; nothing in force', async () => {
  const now = w.gw.container.clock.now().getTime();
  const past = new Date(now - 60_000);
  const future = new Date(now + 600_000);
  const c = w.connectionId;
  for (const [id, expires] of [
    ['req_old', past],
    ['req_live', future],
  ] as const)
    await rows(w.gw, 'insert into saml_requests (id, connection_id, created_at, expires_at) values (?, ?, ?, ?)', [id, c, past, expires]);
  for (const [id, expires] of [
    ['uas_old', past],
    ['uas_live', future],
  ] as const)
    await rows(w.gw, 'insert into used_assertions (id, connection_id, assertion_id, expires_at, created_at) values (?, ?, ?, ?, ?)', [id, c, id, expires, past]);
  for (const [id, expires] of [
    ['ech_long_expired', new Date(now - 2 * 86_400_000)],
    ['ech_just_expired', past],
    ['ech_live', future],
  ] as const)
    await rows(w.gw, "insert into email_challenges (id, email, code_hash, link_hash, created_at, expires_at) values (?, 'hk@example.com', ?, ?, ?, ?)", [id, id, id, past, expires]);
  const extra = 7;
  await rows(w.gw,
    `insert into saml_sign_in_failures (id, connection_id, code, message, occurred_at)
     select 'ssf_hk_' || g, ?, 'INVALID_SAML', 'junk', ?::timestamptz + g * interval '1 second' from generate_series(1, ?) g`,
    [c, past, FAILURES_KEPT_PER_CONNECTION + extra],
  );
  const before = await count('select count(*)::int as n from saml_sign_in_failures where connection_id = ?', [c]);
  expect(before).toBeGreaterThan(FAILURES_KEPT_PER_CONNECTION);

  await w.gw.container.housekeeping.runOnce();

  const ids = async (table: string, prefix: string) =>
    (await rows<{ id: string }>(w.gw, `select id from ${table} where id like ? order by id`, [`${prefix}%`])).map((r) => r.id);
  expect(await ids('saml_requests', 'req_')).toEqual(['req_live']);
  expect(await ids('used_assertions', 'uas_')).toEqual(['uas_live']);
  expect(await ids('email_challenges', 'ech_')).toEqual(['ech_just_expired', 'ech_live']);
  expect(await count('select count(*)::int as n from saml_sign_in_failures where connection_id = ?', [c])).toBe(FAILURES_KEPT_PER_CONNECTION);
  // The newest are the ones kept.
  expect(await count("select count(*)::int as n from saml_sign_in_failures where connection_id = ? and id in ('ssf_hk_1', 'ssf_hk_2')", [c])).toBe(0);
  expect(await count(`select count(*)::int as n from saml_sign_in_failures where id = 'ssf_hk_${FAILURES_KEPT_PER_CONNECTION + extra}'`)).toBe(1);

  // A second pass has nothing left to do.
  await w.gw.container.housekeeping.runOnce();
  expect(await ids('saml_requests', 'req_')).toEqual(['req_live']);
});
