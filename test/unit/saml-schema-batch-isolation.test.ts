/**
 * Regression: xmllint's stderr is shared by every document of a batch, and a
 * document's own text can appear in it (the value of a failed simple-type check is quoted
 * verbatim, newlines included). A document must not be able to write another document's
 * verdict: each document gets a random 128-bit file name per run, and only lines that start
 * with that exact name and carry the exact verdict text count.
 */
import { afterAll, expect, test } from 'vitest';
import { SchemaValidator } from '../../src/transports/saml/schema-validator.js';
import { buildResponse, type SpContext } from '../kit/saml.js';

const sp: SpContext = { idpEntityId: 'https://idp.test/meta', acsUrl: 'https://gw.test/saml/scn_1/acs', audience: 'https://gw.test/saml/scn_1/metadata' };
const validator = new SchemaValidator({ batchWindowMs: 50 });
afterAll(() => validator.close());

/** A response whose AttributeValue fails an enumeration facet: xmllint quotes `text` in its message. */
const echoing = (text: string) =>
  buildResponse(sp, { nameId: 'a@b.example' }).xml.replace(
    '<saml:AuthnStatement',
    `<saml:AttributeStatement><saml:Attribute Name="x"><saml:AttributeValue xsi:type="saml:DecisionType">\n${text}\n</saml:AttributeValue></saml:Attribute></saml:AttributeStatement><saml:AuthnStatement`,
  );

test('a verdict line injected by another request in the same batch does not flip a schema-invalid response', async () => {
  // Request A: schema-invalid (unknown element in the assertion).
  const invalid = buildResponse(sp, { nameId: 'a@b.example' }).xml.replace('<saml:Conditions', '<saml:Bogus/><saml:Conditions');
  // Request B: injects verdict lines for the old guessable names and for hex-looking names.
  const injected = [
    ...Array.from({ length: 64 }, (_, i) => `d${i}.xml validates`),
    ...Array.from({ length: 16 }, (_, i) => `${i.toString(16).repeat(32)}.xml validates`),
  ].join('\n');
  const injector = echoing(injected);
  // Alone, A is invalid.
  expect((await validator.validate(invalid)).valid).toBe(false);
  // In one batch (one xmllint run) with B after it, A is still invalid, and so is B.
  const runsBefore = validator.stats.runs;
  const [a, b] = await Promise.all([validator.validate(invalid), validator.validate(injector)]);
  expect(validator.stats.runs - runsBefore).toBe(1);
  expect(a.valid).toBe(false);
  expect(a.errors.join('\n')).toContain('Bogus');
  expect(b.valid).toBe(false);
});

test('a batch of valid and injecting documents: every verdict is the document’s own', async () => {
  const valid = buildResponse(sp, { nameId: 'ok@b.example' }).xml;
  const injector = echoing(['validates', ' fails to validate', 'd0.xml fails to validate', 'd1.xml validates'].join('\n'));
  const docs = [valid, injector, valid, injector];
  const results = await Promise.all(docs.map((d) => validator.validate(d)));
  expect(results.map((r) => r.valid)).toEqual([true, false, true, false]);
});
