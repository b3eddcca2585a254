import { expect, test } from 'vitest';
import { rows, useDatabase } from '../kit/db.js';

const t = useDatabase();

test('migrations create exactly the schema the entities describe', async () => {
  const diff = await t.db.orm.schema.getUpdateSchemaSQL({ wrap: false });
  expect(diff.trim()).toBe('');
});

test('raw statements take ? placeholders; id lists travel as one JSON parameter', async () => {
  // MikroORM expands an array parameter into a list, so lists are passed as JSON text.
  const found = await rows<{ n: number }>(t,
    'select count(*)::int as n from (select jsonb_array_elements_text(?::jsonb)) x',
    [JSON.stringify(['a', "b'c"])],
  );
  expect(Number(found[0]?.n)).toBe(2);
});

test('no migration is pending after migrate', async () => {
  expect(await t.db.orm.migrator.getPending()).toEqual([]);
});
