/**
 * Every entity the ORM knows. Kept apart from entities.ts so that the SAML and SCIM
 * entity modules can import the core ones without an import cycle.
 */
import { AUTH_ENTITIES } from './auth-entities.js';
import { CORE_ENTITIES } from './entities.js';
import { RATE_LIMIT_ENTITIES } from './rate-limit-entities.js';
import { SAML_ENTITIES } from './saml-entities.js';
import { SCIM_ENTITIES } from './scim-entities.js';
import { WEBHOOK_ENTITIES } from './webhook-entities.js';

export const ALL_ENTITIES = [...CORE_ENTITIES, ...SCIM_ENTITIES, ...SAML_ENTITIES, ...RATE_LIMIT_ENTITIES, ...WEBHOOK_ENTITIES, ...AUTH_ENTITIES];
