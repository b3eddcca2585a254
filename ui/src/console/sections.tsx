// The console's sections, in menu order.
import type { ComponentType } from 'react';
import { AuditLog } from './AuditLog';
import { AutomaticAccess } from './AutomaticAccess';
import { Domains } from './Domains';
import { Members } from './Members';
import { ScimTokens } from './ScimTokens';
import { SsoConnections } from './SsoConnections';
import { Teams } from './Teams';
import { Webhooks } from './Webhooks';

export interface ConsolePageProps {
  organizationId: string;
  organizationName: string;
  viewerUserId: string;
}

export interface ConsoleSection {
  /** Under /console/. */
  path: string;
  title: string;
  Page: ComponentType<ConsolePageProps>;
}

export const consoleSections: ConsoleSection[] = [
  { path: 'members', title: 'Members', Page: Members },
  { path: 'teams', title: 'Teams', Page: Teams },
  { path: 'automatic-access', title: 'Automatic user access', Page: AutomaticAccess },
  { path: 'sso', title: 'SSO connections', Page: SsoConnections },
  { path: 'scim', title: 'SCIM provisioning', Page: ScimTokens },
  { path: 'domains', title: 'Domains and required SSO', Page: Domains },
  { path: 'audit-log', title: 'Audit log', Page: AuditLog },
  { path: 'webhooks', title: 'Webhooks', Page: Webhooks },
];
