/** `npm start` / `orgway serve`: config → container → server → listen; SIGTERM drains. */
import 'reflect-metadata';
import { serve } from './cli/serve.js';

await serve();
