/**
 * Migration0005Limits on a database that holds emails from before the canonical form:
 * spellings of one address that now collide are reported (ORGWAY_EMAIL_DUPLICATES), not merged;
 * a lone non-canonical email is rewritten; an email with no canonical form is reported and kept.
 * Migration0010EmailNfc does the same when the form gained NFC local parts.
 */
import { expect, test } from 'vitest';
import { planCanonicalEmails } from '../../src/persistence/canonical-emails.js';
import { rows, useDatabase } from '../kit/db.js';

const t = useDatabase({ migrate: false });
const nfc = useDatabase({ migrate: false });

/** Runs the remaining migrations and returns the ORGWAY_EMAIL_DUPLICATES report, if any. */
const migrateReporting = async (db: typeof t): Promise<string | undefined> => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    await db.db.orm.migrator.up();
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  } finally {
    process.off('warning', onWarning);
  }
  return warnings.find((w) => (w as { code?: string }).code === 'ORGWAY_EMAIL_DUPLICATES')?.message;
};

const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 0, minutes));

/** Migrates up to `before`, stores these users as they were, runs the rest: the emails by user id and the report. */
const plantThenMigrate = async (db: typeof t, before: string, users: readonly [id: string, email: string, created: Date][]) => {
  await db.db.orm.migrator.up({ to: before });
  for (const [id, email, created] of users)
    await rows(db, 'insert into users (id, email, created_at, updated_at) values (?, ?, ?, ?)', [id, email, created, created]);
  const report = await migrateReporting(db);
  const found = await rows<{ id: string; email: string }>(db, 'select id, email from users order by id');
  return { emails: Object.fromEntries(found.map((r) => [r.id, r.email])), report };
};

test('duplicates are reported and not merged; the rest becomes canonical', async () => {
  const { emails, report } = await plantThenMigrate(t, 'Migration0003Scim', [
    ['usr_a', 'bob@bücher.example', at(1)], // oldest of its group: takes the canonical email
    ['usr_b', 'bob@bücher.example.', at(2)],
    ['usr_c', 'carol@xn--bcher-kva.example', at(3)], // already canonical
    ['usr_d', 'carol@bücher.example', at(0)],
    ['usr_e', 'dave@bücher.example', at(4)], // alone: rewritten
    ['usr_f', 'x@[127.0.0.1]', at(5)], // no canonical form: kept, reported
    ['usr_g', 'plain@example.com', at(6)],
  ]);
  expect(emails).toEqual({
    usr_a: 'bob@xn--bcher-kva.example',
    usr_b: 'bob@bücher.example.',
    usr_c: 'carol@xn--bcher-kva.example',
    usr_d: 'carol@bücher.example',
    usr_e: 'dave@xn--bcher-kva.example',
    usr_f: 'x@[127.0.0.1]',
    usr_g: 'plain@example.com',
  });
  expect(report).toMatch(/2 email\(s\) now name more than one user/);
  expect(report).toContain('bob@xn--bcher-kva.example kept by usr_a, also usr_b <bob@bücher.example.>');
  expect(report).toContain('carol@xn--bcher-kva.example kept by usr_c, also usr_d <carol@bücher.example>');
  expect(report).toContain('usr_f <x@[127.0.0.1]>');
});

test('Migration0010EmailNfc: a decomposed local part becomes NFC; one that now collides is reported, not merged', async () => {
  const { emails, report } = await plantThenMigrate(nfc, 'Migration0009MembersPages', [
    ['usr_n1', 'j\u00fcrgen@example.com', at(1)], // NFC already: keeps it
    ['usr_n2', 'ju\u0308rgen@example.com', at(0)], // the same address decomposed: reported
    ['usr_n3', 'zoe\u0301@example.com', at(2)], // alone: rewritten to NFC
    ['usr_n4', '\ufb03@example.com', at(3)], // a compatibility ligature: not the same as ffi
    ['usr_n5', 'ffi@example.com', at(4)],
  ]);
  expect(emails).toEqual({
    usr_n1: 'j\u00fcrgen@example.com',
    usr_n2: 'ju\u0308rgen@example.com',
    usr_n3: 'zo\u00e9@example.com',
    usr_n4: '\ufb03@example.com',
    usr_n5: 'ffi@example.com',
  });
  expect(report).toMatch(/^1 email\(s\) now name more than one user/);
  expect(report).toContain('j\u00fcrgen@example.com kept by usr_n1, also usr_n2 <ju\u0308rgen@example.com>');
});

test('the plan of an already canonical database is empty', () => {
  expect(planCanonicalEmails([{ id: 'u1', email: 'a@example.com', created_at: at(0) }])).toEqual({ updates: [], duplicates: [], invalid: [] });
});
