#!/usr/bin/env node
// Runs the compiled CLI (npm run build). Decorators need the tsc build, not type stripping.
await import('../dist/src/cli/main.js');
