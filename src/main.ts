/** `npm start` / `orgway serve`: config → container → server → listen; SIGTERM drains. */
import 'reflect-metadata';

// A server runs in production mode unless told otherwise: graphql-js skips its
// development-only checks and Apollo hides stack traces. Set before graphql loads.
process.env.NODE_ENV ??= 'production';
const { serve } = await import('./cli/serve.js');
await serve();
