/**
 * The status machine of SPEC §1, checked exhaustively: every cause × from × to.
 * The expected table below is written from the spec, independently of statuses.ts.
 */
import { describe, expect, test } from 'vitest';
import {
  allowedTargets,
  DomainError,
  type StatusChangeCause,
  transition,
  USER_STATUSES,
  type UserStatus,
} from '../../src/domain/model/index.js';

type From = UserStatus | null;
const FROMS: From[] = [null, ...USER_STATUSES];
const CAUSES: StatusChangeCause[] = ['STAGE', 'INVITE', 'ENTER', 'SET_STATUS'];

/** SPEC §1 "Statuses": cause → from → the targets it may reach. */
const SPEC: Record<StatusChangeCause, Record<string, UserStatus[]>> = {
  // none → STAGED: stageUser, SCIM POST /Users
  STAGE: { none: ['STAGED'], STAGED: [], INVITED: [], ACTIVE: [], DISABLED: [] },
  // none / STAGED → INVITED: inviteUser
  INVITE: { none: ['INVITED'], STAGED: ['INVITED'], INVITED: [], ACTIVE: [], DISABLED: [] },
  // none / STAGED / INVITED → ACTIVE when the user enters; ACTIVE stays ACTIVE; DISABLED never by itself
  ENTER: { none: ['ACTIVE'], STAGED: ['ACTIVE'], INVITED: ['ACTIVE'], ACTIVE: ['ACTIVE'], DISABLED: [] },
  // any → DISABLED; DISABLED → STAGED (setMembershipStatus, SCIM active)
  SET_STATUS: { none: [], STAGED: ['DISABLED'], INVITED: ['DISABLED'], ACTIVE: ['DISABLED'], DISABLED: ['DISABLED', 'STAGED'] },
};

const key = (f: From) => f ?? 'none';

describe.each(CAUSES)('%s', (cause) => {
  for (const from of FROMS)
    for (const to of USER_STATUSES) {
      const allowed = SPEC[cause][key(from)]!.includes(to);
      test(`${key(from)} → ${to}: ${allowed ? 'allowed' : 'INVALID_TRANSITION'}`, () => {
        if (allowed) {
          expect(transition(cause, from, to)).toBe(to);
          return;
        }
        let error: unknown;
        try {
          transition(cause, from, to);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(DomainError);
        const e = error as DomainError;
        expect(e.code).toBe('INVALID_TRANSITION');
        const expectedAllowed = SPEC[cause][key(from)]!;
        // The error names what is allowed instead, in the message and in the details.
        expect(e.details.allowed).toEqual(expectedAllowed);
        expect(e.details).toMatchObject({ from: from ?? 'no membership', to });
        expect(e.message).toContain(`from ${from ?? 'no membership'} to ${to}`);
        if (expectedAllowed.length) expect(e.message).toContain(`allowed: ${expectedAllowed.join(', ')}`);
        else expect(e.message).toContain('no change is allowed this way');
      });
    }

  test('allowedTargets matches the spec for every starting point', () => {
    for (const from of FROMS) expect(allowedTargets(cause, from).sort()).toEqual([...SPEC[cause][key(from)]!].sort());
  });
});

test('DISABLED is never re-activated, by any cause', () => {
  for (const cause of CAUSES) expect(() => transition(cause, 'DISABLED', 'ACTIVE')).toThrow(DomainError);
});

test('DISABLED → ACTIVE explains how to re-enable', () => {
  expect(() => transition('SET_STATUS', 'DISABLED', 'ACTIVE')).toThrow(/setting it to STAGED/);
  expect(() => transition('SET_STATUS', 'STAGED', 'ACTIVE')).toThrow(/only when the user enters/);
});

test('only entering an organization makes a membership ACTIVE', () => {
  for (const cause of CAUSES)
    for (const from of FROMS) {
      const reachesActive = (() => {
        try {
          return transition(cause, from, 'ACTIVE') === 'ACTIVE';
        } catch {
          return false;
        }
      })();
      expect(reachesActive, `${cause} ${key(from)}`).toBe(cause === 'ENTER' && from !== 'DISABLED');
    }
});
