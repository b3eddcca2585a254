import { DomainError } from './errors.js';

/** Per-membership lifecycle status (SPEC §1). */
export const USER_STATUSES = ['STAGED', 'INVITED', 'ACTIVE', 'DISABLED'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export const isUserStatus = (value: string): value is UserStatus => (USER_STATUSES as readonly string[]).includes(value);

/** Why a status changes; each cause has its own allowed moves. */
export type StatusChangeCause = 'STAGE' | 'INVITE' | 'ENTER' | 'SET_STATUS';

type From = UserStatus | null; // null: no membership yet

/** The whole status machine as data: cause → target → statuses it may start from. */
const MOVES: Record<StatusChangeCause, Partial<Record<UserStatus, readonly From[]>>> = {
  STAGE: { STAGED: [null] },
  INVITE: { INVITED: [null, 'STAGED'] },
  ENTER: { ACTIVE: [null, 'STAGED', 'INVITED', 'ACTIVE'] },
  SET_STATUS: { DISABLED: ['STAGED', 'INVITED', 'ACTIVE', 'DISABLED'], STAGED: ['DISABLED'] },
};

const describe = (s: From): string => s ?? 'no membership';

/** Targets reachable from `from` by `cause`. */
export const allowedTargets = (cause: StatusChangeCause, from: From): UserStatus[] =>
  (Object.entries(MOVES[cause]) as [UserStatus, readonly From[]][])
    .filter(([, froms]) => froms.includes(from))
    .map(([to]) => to);

/**
 * Checks one requested status change and returns the new status, or throws
 * INVALID_TRANSITION naming what is allowed instead. DISABLED never becomes ACTIVE.
 */
export const transition = (cause: StatusChangeCause, from: From, to: UserStatus): UserStatus => {
  const froms = MOVES[cause][to];
  if (froms?.includes(from)) return to;
  const allowed = allowedTargets(cause, from);
  const what = allowed.length ? `allowed: ${allowed.join(', ')}` : 'no change is allowed this way';
  const hint =
    from === 'DISABLED' && to === 'ACTIVE'
      ? ' A DISABLED membership is re-enabled by setting it to STAGED; it becomes ACTIVE when the user enters the organization.'
      : to === 'ACTIVE'
        ? ' A membership becomes ACTIVE only when the user enters the organization.'
        : '';
  throw new DomainError(
    'INVALID_TRANSITION',
    `Cannot change status from ${describe(from)} to ${to} (${what}).${hint}`,
    { from: describe(from), to, allowed },
  );
};
