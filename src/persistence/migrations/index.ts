import { Migration0001Initial } from './Migration0001Initial.js';
import { Migration0002Saml } from './Migration0002Saml.js';
import { Migration0003Scim } from './Migration0003Scim.js';
import { Migration0004Trust } from './Migration0004Trust.js';
import { Migration0005Limits } from './Migration0005Limits.js';
import { Migration0006EventLog } from './Migration0006EventLog.js';
import { Migration0007Webhooks } from './Migration0007Webhooks.js';
import { Migration0008EmailSignIn } from './Migration0008EmailSignIn.js';
import { Migration0009MembersPages } from './Migration0009MembersPages.js';
import { Migration0010EmailNfc } from './Migration0010EmailNfc.js';

/** Every migration in order; listed explicitly so source (tests) and dist (CLI) agree. */
export const MIGRATIONS = [
  { name: 'Migration0001Initial', class: Migration0001Initial },
  { name: 'Migration0002Saml', class: Migration0002Saml },
  { name: 'Migration0003Scim', class: Migration0003Scim },
  { name: 'Migration0004Trust', class: Migration0004Trust },
  { name: 'Migration0005Limits', class: Migration0005Limits },
  { name: 'Migration0006EventLog', class: Migration0006EventLog },
  { name: 'Migration0007Webhooks', class: Migration0007Webhooks },
  { name: 'Migration0008EmailSignIn', class: Migration0008EmailSignIn },
  { name: 'Migration0009MembersPages', class: Migration0009MembersPages },
  { name: 'Migration0010EmailNfc', class: Migration0010EmailNfc },
];
