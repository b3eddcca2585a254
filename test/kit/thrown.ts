import { expect } from 'vitest';

/** The error `fn` throws, checked to be an instance of `kind`; fails the test when nothing is thrown. */
export const thrown = <E extends Error>(kind: abstract new (...args: never[]) => E, fn: () => unknown): E => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(kind);
    return e as E;
  }
  throw new Error('expected a refusal');
};
