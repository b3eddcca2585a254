#!/usr/bin/env node
// Runs the compiled CLI (npm run build). Decorators need the tsc build, not type stripping.
import process from 'node:process';

try {
  await import('../dist/src/cli/main.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli/main.js')) {
    process.stderr.write('orgway: the compiled CLI is missing; run `npm run build` first.\n');
    process.exit(1);
  }
  throw error;
}
