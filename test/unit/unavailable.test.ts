/** Which errors mean "the database is unavailable" (retry later) and which do not. */
import { describe, expect, test } from 'vitest';
import { DomainError } from '../../src/domain/model/index.js';
import { databaseUnavailable, isDatabaseUnavailable, unavailableOr } from '../../src/domain/unavailable.js';
import { DatabaseTimeoutError } from '../../src/persistence/orm.js';

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  test.each([
    ['connection refused', coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['reset', coded('ECONNRESET')],
    ['admin shutdown', coded('57P01', 'terminating connection due to administrator command')],
    ['starting up', coded('57P03', 'the database system is starting up')],
    ['too many connections', coded('53300')],
    ['statement_timeout', coded('57014', 'canceling statement due to statement timeout')],
    ['connection lost', new Error('Connection terminated unexpectedly')],
    ['pool acquire timeout', new Error('timeout exceeded when trying to connect')],
    ['connect timeout', new Error('timeout expired')],
    ['our own deadline', new DatabaseTimeoutError('PostgreSQL did not answer')],
    ['wrapped', new Error('outer', { cause: coded('ECONNREFUSED') })],
    ['several addresses', new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')])],
    ['sqlState on a driver exception', Object.assign(new Error('x'), { sqlState: '08006' })],
  ])('%s: yes', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  test.each([
    ['a unique violation', coded('23505', 'duplicate key value violates unique constraint')],
    ['a syntax error', coded('42601')],
    ['a division by zero', coded('22012', 'division by zero')],
    ['a domain error', new DomainError('NOT_FOUND', 'no')],
    ['a message merely containing the words', new Error('the timeout expired for your coupon')],
    ['not an error', 'ECONNREFUSED'],
    ['nothing', undefined],
  ])('%s: no', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  test('unavailableOr maps only unavailability, to UNAVAILABLE with the retry delay', () => {
    expect(unavailableOr(coded('ECONNREFUSED'))).toMatchObject({ code: 'UNAVAILABLE', details: { retryAfterSeconds: 5 } });
    const other = new Error('boom');
    expect(unavailableOr(other)).toBe(other);
    expect(databaseUnavailable().message).toMatch(/Retry in 5 seconds/);
  });
});
