/** SPEC §8: emails in one canonical form (lower case, IDN domain as punycode, no trailing dot, no IP literals). */
import { describe, expect, test } from 'vitest';
import { canonicalDomain, DomainError, normalizeEmail } from '../../src/domain/model/index.js';
import { thrown } from '../kit/thrown.js';

describe('normalizeEmail', () => {
  test.each([
    ['Bob@Bücher.example.', 'bob@xn--bcher-kva.example'],
    ['bob@xn--bcher-kva.example', 'bob@xn--bcher-kva.example'],
    ['bob@bücher.example', 'bob@xn--bcher-kva.example'],
    ['BOB@XN--BCHER-KVA.EXAMPLE', 'bob@xn--bcher-kva.example'],
    ['  Alice@Example.COM  ', 'alice@example.com'],
    ['a@例え.テスト', 'a@xn--r8jz45g.xn--zckzah'],
    ['first.last+tag@sub.example.org', 'first.last+tag@sub.example.org'],
    // The local part in NFC: a decomposed ü is the precomposed one; a compatibility ligature stays.
    ['ju\u0308rgen@example.com', 'j\u00fcrgen@example.com'],
    ['J\u00dcRGEN@example.com', 'j\u00fcrgen@example.com'],
    ['\ufb03@example.com', '\ufb03@example.com'],
  ])('%j → %j', (input, canonical) => {
    expect(normalizeEmail(input)).toBe(canonical);
  });

  test.each([
    ['x@[127.0.0.1]', /IP address/],
    ['x@[IPv6:::1]', /IP address/],
    ['x@127.0.0.1', /IP address/],
    ['x@0x7f.1', /IP address/],
    ['a\u0000b@example.com', /not a valid email/],
    ['ab@exa\u0000mple.com', /not a valid email/],
    ['a\ud800@example.com', /not a valid email/],
    ['a@example.com..', /not a valid email/],
    ['a@.com', /not a valid email/],
    ['a@exa mple.com', /not a valid email/],
    ['@example.com', /not a valid email/],
    ['nobody', /not a valid email/],
    ['a@localhost', /not a valid email/],
  ])('%j is refused', (input, message) => {
    const e = thrown(DomainError, () => normalizeEmail(input, 'email'));
    expect(e).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'email' } });
    expect(e.message).toMatch(message);
  });
});

test('canonicalDomain', () => {
  expect(canonicalDomain('Bücher.Example.')).toBe('xn--bcher-kva.example');
  expect(canonicalDomain('[::1]')).toBeNull();
  expect(canonicalDomain('10.0.0.1')).toBeNull();
  expect(canonicalDomain('')).toBeNull();
});
