/** The SCIM side of the domain, as the composition root hands it to the transports. */
import type { TransactionRunner } from '../unit-of-work.js';
import { ScimGroupService } from './scim-groups.js';
import { ScimTokenService } from './scim-tokens.js';
import { ScimUserService } from './scim-users.js';

export class ScimService {
  readonly tokens: ScimTokenService;
  readonly users: ScimUserService;
  readonly groups: ScimGroupService;
  constructor(tx: TransactionRunner) {
    this.tokens = new ScimTokenService(tx);
    this.users = new ScimUserService(tx);
    this.groups = new ScimGroupService(tx);
  }
}
