import { expect, test } from 'vitest';

// npm falls back to the system Node silently when the pinned binary is missing (STACK.md P11).
test('runs on the pinned Node 24', () => {
  expect(process.version).toMatch(/^v24\./);
});
