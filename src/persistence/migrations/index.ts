import { Migration0001Initial } from './Migration0001Initial.js';
import { Migration0002Saml } from './Migration0002Saml.js';
import { Migration0003Scim } from './Migration0003Scim.js';
import { Migration0007Webhooks } from './Migration0007Webhooks.js';

/** Every migration in order; listed explicitly so source (tests) and dist (CLI) agree. */
export const MIGRATIONS = [
  { name: 'Migration0001Initial', class: Migration0001Initial },
  { name: 'Migration0002Saml', class: Migration0002Saml },
  { name: 'Migration0003Scim', class: Migration0003Scim },
  { name: 'Migration0007Webhooks', class: Migration0007Webhooks },
];
