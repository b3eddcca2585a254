/**
 * Migration0005Limits on a database that holds emails from before the canonical form:
 * spellings of one address that now collide are reported (ORGWAY_EMAIL_DUPLICATES), not merged;
 * a lone non-canonical email is rewritten; an email with no canonical form is reported and kept.
 */
import { expect, test } from 'vitest';
import { planCanonicalEmails } from '../../src/persistence/canonical-emails.js';
import { rows, useDatabase } from '../kit/db.js';

const t = useDatabase({ migrate: false });

const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 0, minutes));

test('duplicates are reported and not merged; the rest becomes canonical', async () => {
  await t.db.orm.migrator.up({ to: 'Migration0003Scim' });
  const users: [string, string, Date][] = [
    ['usr_a', 'bob@bücher.example', at(1)], // oldest of its group: takes the canonical email
    ['usr_b', 'bob@bücher.example.', at(2)],
    ['usr_c', 'carol@xn--bcher-kva.example', at(3)], // already canonical
    ['usr_d', 'carol@bücher.example', at(0)],
    ['usr_e', 'dave@bücher.example', at(4)], // alone: rewritten
    ['usr_f', 'x@[127.0.0.1]', at(5)], // no canonical form: kept, reported
    ['usr_g', 'plain@example.com', at(6)],
  ];
  for (const [id, email, created] of users)
    await rows(t, 'insert into users (id, email, created_at, updated_at) values (?, ?, ?, ?)', [id, email, created, created]);

  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    await t.db.orm.migrator.up();
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  } finally {
    process.off('warning', onWarning);
  }

  const found = await rows<{ id: string; email: string }>(t, 'select id, email from users order by id');
  expect(Object.fromEntries(found.map((r) => [r.id, r.email]))).toEqual({
    usr_a: 'bob@xn--bcher-kva.example',
    usr_b: 'bob@bücher.example.',
    usr_c: 'carol@xn--bcher-kva.example',
    usr_d: 'carol@bücher.example',
    usr_e: 'dave@xn--bcher-kva.example',
    usr_f: 'x@[127.0.0.1]',
    usr_g: 'plain@example.com',
  });
  const report = warnings.find((w) => (w as { code?: string }).code === 'ORGWAY_EMAIL_DUPLICATES');
  expect(report?.message).toMatch(/2 email\(s\) now name more than one user/);
  expect(report?.message).toContain('bob@xn--bcher-kva.example kept by usr_a, also usr_b <bob@bücher.example.>');
  expect(report?.message).toContain('carol@xn--bcher-kva.example kept by usr_c, also usr_d <carol@bücher.example>');
  expect(report?.message).toContain('usr_f <x@[127.0.0.1]>');
});

test('the plan of an already canonical database is empty', () => {
  expect(planCanonicalEmails([{ id: 'u1', email: 'a@example.com', created_at: at(0) }])).toEqual({ updates: [], duplicates: [], invalid: [] });
});
