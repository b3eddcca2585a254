/**
 * Discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas, built
 * from the same definitions that validate requests (schema.ts) and the same limits
 * the handlers enforce, so they describe exactly what this server does.
 */
import { SCIM_MAX_RESULTS } from '../../domain/scim/types.js';
import {
  type AttributeDef,
  GROUP_RESOURCE,
  RESOURCE_TYPE_SCHEMA,
  type ResourceDef,
  SCHEMA_SCHEMA,
  SCHEMAS,
  SERVICE_PROVIDER_CONFIG_SCHEMA,
  USER_RESOURCE,
} from './schema.js';

export const serviceProviderConfig = (baseUrl: string) => ({
  schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
  documentationUri: 'https://www.rfc-editor.org/rfc/rfc7644',
  patch: { supported: true },
  bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
  filter: { supported: true, maxResults: SCIM_MAX_RESULTS },
  changePassword: { supported: false },
  sort: { supported: false },
  etag: { supported: false },
  authenticationSchemes: [
    {
      type: 'oauthbearertoken',
      name: 'OAuth Bearer Token',
      description:
        'Authorization: Bearer <SCIM token>. An ORG_ADMIN creates tokens with the createScimToken GraphQL mutation; each token sees and changes one organization.',
      specUri: 'https://www.rfc-editor.org/rfc/rfc6750',
      primary: true,
    },
  ],
  meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
});

const RESOURCES: ResourceDef[] = [USER_RESOURCE, GROUP_RESOURCE];

const DESCRIPTIONS: Record<ResourceDef['name'], string> = {
  User: 'A member of the organization the SCIM token belongs to.',
  Group: 'A team of the organization the SCIM token belongs to.',
};

export const resourceType = (r: ResourceDef, baseUrl: string) => ({
  schemas: [RESOURCE_TYPE_SCHEMA],
  id: r.name,
  name: r.name,
  endpoint: r.endpoint,
  description: DESCRIPTIONS[r.name],
  schema: r.schema,
  ...(r.extensions.length ? { schemaExtensions: r.extensions.map((e) => ({ schema: e.id, required: false })) } : {}),
  meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${r.name}` },
});

export const resourceTypes = (baseUrl: string) => RESOURCES.map((r) => resourceType(r, baseUrl));

export const findResourceType = (name: string): ResourceDef | undefined => RESOURCES.find((r) => r.name.toLowerCase() === name.toLowerCase());

const renderAttribute = (a: AttributeDef): Record<string, unknown> => ({
  name: a.name,
  type: a.type,
  multiValued: a.multiValued,
  description: a.description,
  required: a.required,
  caseExact: a.caseExact,
  mutability: a.mutability,
  returned: a.returned,
  uniqueness: a.uniqueness,
  ...(a.canonicalValues ? { canonicalValues: a.canonicalValues } : {}),
  ...(a.referenceTypes ? { referenceTypes: a.referenceTypes } : {}),
  ...(a.subAttributes ? { subAttributes: a.subAttributes.map(renderAttribute) } : {}),
});

export const schemaResources = (baseUrl: string) =>
  SCHEMAS.map((s) => ({
    schemas: [SCHEMA_SCHEMA],
    id: s.id,
    name: s.name,
    description: s.description,
    attributes: s.attributes.map(renderAttribute),
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${s.id}` },
  }));
