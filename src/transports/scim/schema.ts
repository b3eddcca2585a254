/**
 * The SCIM schemas this service provider supports (RFC 7643 §4, §7), as data.
 * One definition serves the /Schemas endpoint, body validation, PATCH path checks,
 * the quirk normaliser (canonical attribute names and types) and attribute projection,
 * so what /Schemas describes is exactly what the server accepts and returns.
 *
 * Common attributes (`id`, `externalId`, `meta`, RFC 7643 §3.1) are not listed in the
 * schemas, as the RFC prescribes; they are handled by every resource type.
 */

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SERVICE_PROVIDER_CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

export type AttributeType = 'string' | 'boolean' | 'complex' | 'reference';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';

export interface AttributeDef {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness: 'none' | 'server' | 'global';
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDef[];
}

type Opts = Partial<Omit<AttributeDef, 'name' | 'type' | 'description'>>;

const attr = (name: string, type: AttributeType, description: string, o: Opts = {}): AttributeDef => ({
  name,
  type,
  multiValued: false,
  description,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...o,
});
const str = (name: string, description: string, o: Opts = {}) => attr(name, 'string', description, o);

/** value/display/type/primary, the shape of emails, phoneNumbers, ims, photos (RFC 7643 §2.4). */
const multi = (name: string, description: string, types: string[], valueType: AttributeType = 'string') =>
  attr(name, 'complex', description, {
    multiValued: true,
    subAttributes: [
      attr('value', valueType, `The ${name} value.`, valueType === 'reference' ? { referenceTypes: ['external'] } : {}),
      str('display', 'A human-readable name, primarily used for display purposes.'),
      str('type', 'A label indicating the function of the value.', { canonicalValues: types }),
      attr('primary', 'boolean', 'Whether this value is the preferred one. At most one value is primary.'),
    ],
  });

export const USER_ATTRIBUTES: AttributeDef[] = [
  str('userName', 'Unique identifier of the user in this organization, typically the sign-in name. Compared case-insensitively.', {
    required: true,
    uniqueness: 'server',
  }),
  attr('name', 'complex', 'The components of the user\'s name. Kept for this organization only.', {
    subAttributes: [
      str('formatted', 'The full name, formatted for display.'),
      str('familyName', 'The family (last) name.'),
      str('givenName', 'The given (first) name.'),
      str('middleName', 'The middle name(s).'),
      str('honorificPrefix', 'The honorific prefix(es), e.g. "Ms.".'),
      str('honorificSuffix', 'The honorific suffix(es), e.g. "III".'),
    ],
  }),
  str('displayName', "The user's display name, shared by every organization the user belongs to. Changes are refused (mutability) while the user belongs to other organizations too."),
  str('nickName', 'The casual way to address the user.'),
  attr('profileUrl', 'reference', "A URI of the user's online profile.", { referenceTypes: ['external'] }),
  str('title', "The user's title, such as \"Vice President\"."),
  str('userType', 'The relationship between the organization and the user, e.g. "Employee".'),
  str('preferredLanguage', "The user's preferred written or spoken language (RFC 7231 Accept-Language format)."),
  str('locale', "The user's default location for localisation, e.g. en-US."),
  str('timezone', "The user's time zone in IANA format, e.g. Europe/Paris."),
  attr('active', 'boolean', 'false disables the membership (DISABLED); true re-enables a DISABLED one as STAGED. The membership becomes ACTIVE only when the user signs in.'),
  multi(
    'emails',
    "Email addresses. The primary one (else the one of type work, else the first) is the user's identity email, shared by every organization: changing it is refused (mutability) while the user belongs to other organizations too.",
    ['work', 'home', 'other'],
  ),
  multi('phoneNumbers', 'Phone numbers.', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
  multi('ims', 'Instant messaging addresses.', ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo']),
  multi('photos', 'URLs of images of the user.', ['photo', 'thumbnail'], 'reference'),
  attr('addresses', 'complex', 'Physical mailing addresses.', {
    multiValued: true,
    subAttributes: [
      str('formatted', 'The full mailing address, formatted for display.'),
      str('streetAddress', 'The full street address.'),
      str('locality', 'The city or locality.'),
      str('region', 'The state or region.'),
      str('postalCode', 'The zip code or postal code.'),
      str('country', 'The country name (ISO 3166-1 alpha-2, e.g. "US").'),
      str('type', 'A label indicating the function of the address.', { canonicalValues: ['work', 'home', 'other'] }),
      attr('primary', 'boolean', 'Whether this is the preferred address.'),
    ],
  }),
  attr('groups', 'complex', 'The teams (Groups) the user belongs to in this organization. Change them through the Groups endpoint.', {
    multiValued: true,
    mutability: 'readOnly',
    subAttributes: [
      str('value', 'The id of the Group.', { mutability: 'readOnly' }),
      attr('$ref', 'reference', 'The URI of the Group.', { mutability: 'readOnly', referenceTypes: ['Group'] }),
      str('display', 'The name of the Group.', { mutability: 'readOnly' }),
      str('type', 'How the user belongs to the Group.', { mutability: 'readOnly', canonicalValues: ['direct'] }),
    ],
  }),
];

export const ENTERPRISE_USER_ATTRIBUTES: AttributeDef[] = [
  str('employeeNumber', 'A string identifier, typically numeric or alphanumeric, assigned to a person.'),
  str('costCenter', 'The name of a cost center.'),
  str('organization', 'The name of an organization (as the identity provider knows it).'),
  str('division', 'The name of a division.'),
  str('department', 'The name of a department.'),
  attr('manager', 'complex', "The user's manager.", {
    subAttributes: [
      str('value', 'The id of the manager.'),
      attr('$ref', 'reference', 'The URI of the manager.', { referenceTypes: ['User'] }),
      str('displayName', 'The display name of the manager.', { mutability: 'readOnly' }),
    ],
  }),
];

export const GROUP_ATTRIBUTES: AttributeDef[] = [
  str('displayName', 'The name of the team. Compared case-insensitively in filters.', { required: true }),
  attr('members', 'complex', 'The users in the team. Members must be users of this organization; nested groups are not supported.', {
    multiValued: true,
    subAttributes: [
      str('value', 'The id of the User.', { mutability: 'immutable' }),
      attr('$ref', 'reference', 'The URI of the User.', { mutability: 'immutable', referenceTypes: ['User'] }),
      str('display', 'The display name (else email) of the User.', { mutability: 'readOnly' }),
      str('type', 'The type of member; only "User" is supported.', { mutability: 'immutable', canonicalValues: ['User'] }),
    ],
  }),
];

/** Attributes of every resource (RFC 7643 §3.1). */
export const COMMON_ATTRIBUTES: AttributeDef[] = [
  str('id', 'The identifier the service provider assigned (a user id or a team id).', { mutability: 'readOnly', returned: 'always', caseExact: true, uniqueness: 'server' }),
  str('externalId', "The identity provider's identifier for the resource. Unique per organization, case-exact.", { caseExact: true }),
  attr('meta', 'complex', 'Resource metadata.', {
    mutability: 'readOnly',
    subAttributes: [
      str('resourceType', 'User or Group.', { mutability: 'readOnly', caseExact: true }),
      str('created', 'When the resource was created (dateTime).', { mutability: 'readOnly' }),
      str('lastModified', 'When the resource last changed (dateTime).', { mutability: 'readOnly' }),
      attr('location', 'reference', 'The URI of the resource.', { mutability: 'readOnly', referenceTypes: ['uri'] }),
    ],
  }),
];

export interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDef[];
}

export const SCHEMAS: SchemaDef[] = [
  { id: USER_SCHEMA, name: 'User', description: 'A member of the organization the SCIM token belongs to.', attributes: USER_ATTRIBUTES },
  { id: ENTERPRISE_USER_SCHEMA, name: 'EnterpriseUser', description: 'Enterprise User attributes, kept per organization.', attributes: ENTERPRISE_USER_ATTRIBUTES },
  { id: GROUP_SCHEMA, name: 'Group', description: 'A team of the organization.', attributes: GROUP_ATTRIBUTES },
];

export interface ResourceDef {
  name: 'User' | 'Group';
  endpoint: '/Users' | '/Groups';
  schema: string;
  extensions: { id: string; attributes: AttributeDef[] }[];
  attributes: AttributeDef[];
}

export const USER_RESOURCE: ResourceDef = {
  name: 'User',
  endpoint: '/Users',
  schema: USER_SCHEMA,
  extensions: [{ id: ENTERPRISE_USER_SCHEMA, attributes: ENTERPRISE_USER_ATTRIBUTES }],
  attributes: USER_ATTRIBUTES,
};

export const GROUP_RESOURCE: ResourceDef = {
  name: 'Group',
  endpoint: '/Groups',
  schema: GROUP_SCHEMA,
  extensions: [],
  attributes: GROUP_ATTRIBUTES,
};

export const findAttribute = (defs: readonly AttributeDef[], name: string): AttributeDef | undefined => {
  const lower = name.toLowerCase();
  return defs.find((d) => d.name.toLowerCase() === lower);
};

/** A top-level key of a resource: a common or core attribute, or an extension (by URN). */
export type TopLevel = { kind: 'attribute'; def: AttributeDef } | { kind: 'extension'; id: string; attributes: AttributeDef[] };

export const findTopLevel = (resource: ResourceDef, key: string): TopLevel | undefined => {
  const ext = resource.extensions.find((e) => e.id.toLowerCase() === key.toLowerCase());
  if (ext) return { kind: 'extension', id: ext.id, attributes: ext.attributes };
  const def = findAttribute(COMMON_ATTRIBUTES, key) ?? findAttribute(resource.attributes, key);
  return def ? { kind: 'attribute', def } : undefined;
};

export const supportedAttributeNames = (resource: ResourceDef): string =>
  [...COMMON_ATTRIBUTES, ...resource.attributes].map((a) => a.name).join(', ') +
  (resource.extensions.length ? `, and ${resource.extensions.map((e) => e.id).join(', ')}` : '');
