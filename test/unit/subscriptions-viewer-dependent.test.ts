/**
 * Shared subscription results: a document is executed once for all its subscribers unless
 * it selects a field declared viewer-dependent. Every field a subscription can reach must be
 * a plain field of the event record or declare itself, so a new field cannot silently share
 * one viewer's answer with everyone.
 */
import { buildSchema, getNamedType, type GraphQLNamedType, isObjectType, parse } from 'graphql';
import { describe, expect, test } from 'vitest';
import { buildGraphQLSchema } from '../../src/transports/graphql/schema.js';
import { readsViewerDependentFields, VIEWER_DEPENDENT } from '../../src/transports/graphql/subscriptions/viewer-dependent.js';

/** Fields copied from the membership event record as it is, the same for every subscriber. */
const EVENT_RECORD_FIELDS = [
  'id',
  'type',
  'organizationId',
  'userId',
  'membershipId',
  'actor',
  'role',
  'status',
  'previousRole',
  'previousStatus',
  'teamIds',
  'previousTeamIds',
  'occurredAt',
];

describe('the schema', () => {
  test('every field reachable from a subscription is a field of the event record or declares whether it depends on the viewer', async () => {
    const schema = await buildGraphQLSchema();
    const undeclared: string[] = [];
    const seen = new Set<GraphQLNamedType>();
    const walk = (type: GraphQLNamedType) => {
      if (seen.has(type) || !isObjectType(type)) return;
      seen.add(type);
      for (const field of Object.values(type.getFields())) {
        const declared = typeof field.extensions?.[VIEWER_DEPENDENT] === 'boolean';
        const plain = type.name === 'MembershipEvent' && EVENT_RECORD_FIELDS.includes(field.name);
        if (!declared && !plain) undeclared.push(`${type.name}.${field.name}`);
        // Below a viewer-dependent field everything is executed per subscriber anyway.
        if (field.extensions?.[VIEWER_DEPENDENT] !== true) walk(getNamedType(field.type));
      }
    };
    for (const field of Object.values(schema.getSubscriptionType()!.getFields())) walk(getNamedType(field.type));
    expect([...seen].map((t) => t.name)).toContain('MembershipEvent');
    expect(undeclared).toEqual([]);
    expect(readsViewerDependentFields(schema, parse('subscription { membershipChanged { id membership { role } } }'))).toBe(true);
    expect(readsViewerDependentFields(schema, parse('subscription { membershipChanged { id type role status } }'))).toBe(false);
  });
});

describe('readsViewerDependentFields', () => {
  const schema = buildSchema(`
    type Query { x: Int }
    type Subscription { changed: Event! }
    type Event { id: ID! mine: Mine }
    type Mine { role: String }
  `);
  (schema.getType('Event') as import('graphql').GraphQLObjectType).getFields().mine!.extensions = { [VIEWER_DEPENDENT]: true };

  test.each([
    ['subscription { changed { id } }', false],
    ['subscription { changed { id mine { role } } }', true],
    ['subscription { changed { ...F } } fragment F on Event { mine { role } }', true],
    ['subscription { changed { ... on Event { id } } }', false],
    ['subscription { changed { alias: mine { role } } }', true],
  ])('%s → %s', (text, expected) => {
    expect(readsViewerDependentFields(schema, parse(text))).toBe(expected);
  });
});
