/** Automatic user access (JIT): the rule that applies an organization's settings to an email. */
import { emailDomain } from './ids.js';
import type { AutomaticUserAccessSettings } from './views.js';

/** Named outcome of the automatic-access rule for one user and organization. */
export type AutomaticAccessDecision = 'JOIN' | 'DISABLED_FOR_ORGANIZATION' | 'DOMAIN_NOT_ALLOWED';

export const decideAutomaticAccess = (settings: AutomaticUserAccessSettings, email: string): AutomaticAccessDecision => {
  if (!settings.enabled) return 'DISABLED_FOR_ORGANIZATION';
  if (settings.allowedDomains.length > 0 && !settings.allowedDomains.includes(emailDomain(email))) return 'DOMAIN_NOT_ALLOWED';
  return 'JOIN';
};
