import { Migration0001Initial } from './Migration0001Initial.js';

/** Every migration in order; listed explicitly so source (tests) and dist (CLI) agree. */
export const MIGRATIONS = [
  { name: 'Migration0001Initial', class: Migration0001Initial },
];
