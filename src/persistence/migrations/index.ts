import { Migration0001Initial } from './Migration0001Initial.js';
import { Migration0003Scim } from './Migration0003Scim.js';

/** Every migration in order; listed explicitly so source (tests) and dist (CLI) agree. */
export const MIGRATIONS = [
  { name: 'Migration0001Initial', class: Migration0001Initial },
  { name: 'Migration0003Scim', class: Migration0003Scim },
];
