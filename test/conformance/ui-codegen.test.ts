/**
 * The typed documents the hosted pages compile against (ui/src/gql, committed) are what
 * `npm run codegen` makes from schema.graphql and the documents in ui/ today: a document or
 * schema change without a codegen run fails here, not in a browser.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { expect, test } from 'vitest';
import config from '../../codegen.js';
import { ROOT } from '../kit/compiled.js';

test('ui/src/gql is up to date with schema.graphql and the documents in ui/', { timeout: 60_000 }, async () => {
  const uiOutput = 'ui/src/gql/';
  const outputs = await generate({ ...config, cwd: ROOT, silent: true, generates: { [uiOutput]: config.generates[uiOutput]! } }, false);
  expect(outputs.length).toBeGreaterThan(0);
  for (const output of outputs) expect(readFileSync(join(ROOT, output.filename), 'utf8'), `${output.filename}: run npm run codegen`).toBe(output.content);
});
