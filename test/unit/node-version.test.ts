import { expect, test } from 'vitest';

// npm falls back to the system Node silently when the pinned binary is missing.
test('runs on the pinned Node 24', () => {
  expect(process.version).toMatch(/^v24\./);
});
