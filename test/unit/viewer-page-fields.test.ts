/**
 * The Viewer page reads teams and timestamps only when the selection names a field that needs
 * them. Every field of the types below the page must be classified, so a new field fails here
 * instead of silently taking a slower (or wrong) path.
 */
import { type FieldNode, getNamedType, type GraphQLObjectType, type GraphQLSchema, isObjectType, type OperationDefinitionNode, parse, type SelectionSetNode } from 'graphql';
import { describe, expect, test } from 'vitest';
import { buildGraphQLSchema } from '../../src/transports/graphql/schema.js';
import { VIEWER_PAGE_FIELDS, viewerPageNeeds } from '../../src/transports/graphql/selection.js';

type TypeName = keyof typeof VIEWER_PAGE_FIELDS;

/** Where the page's query reaches each type, below `organizations { edges { … } }`. */
const PATH: Record<TypeName, (field: string) => string> = {
  Organization: (f) => `node { ${f} }`,
  Membership: (f) => `membership { ${f} }`,
  Team: (f) => `node { teams { ${f} } }`,
};

const objectType = (schema: GraphQLSchema, name: string): GraphQLObjectType => {
  const type = schema.getType(name);
  if (!isObjectType(type)) throw new Error(`${name} is not an object type of the schema`);
  return type;
};

/** The `organizations` field node of a Viewer query selecting `edges { <inner> }`. */
const organizationsField = (inner: string): FieldNode => {
  const doc = parse(`{ viewer { organizations { edges { ${inner} } } } }`);
  const viewer = (doc.definitions[0] as OperationDefinitionNode).selectionSet.selections[0] as FieldNode;
  return (viewer.selectionSet as SelectionSetNode).selections[0] as FieldNode;
};

describe('the Viewer page classifies every field below it', () => {
  test('the table lists exactly the fields the schema has for Organization, Membership and Team', async () => {
    const schema = await buildGraphQLSchema();
    for (const name of Object.keys(VIEWER_PAGE_FIELDS) as TypeName[]) {
      expect(Object.keys(objectType(schema, name).getFields()).sort(), name).toEqual(Object.keys(VIEWER_PAGE_FIELDS[name]).sort());
    }
  });

  test('the page is reached through exactly these types (a new object type below Viewer.organizations needs a row here)', async () => {
    const schema = await buildGraphQLSchema();
    const connection = getNamedType(objectType(schema, 'Viewer').getFields().organizations!.type).name;
    const edge = objectType(schema, getNamedType(objectType(schema, connection).getFields().edges!.type).name).getFields();
    expect(Object.keys(edge).sort()).toEqual(['cursor', 'membership', 'node']);
    expect(getNamedType(edge.node!.type).name).toBe('Organization');
    expect(getNamedType(edge.membership!.type).name).toBe('Membership');
    expect(getNamedType(objectType(schema, 'Organization').getFields().teams!.type).name).toBe('Team');
  });

  const rows = (Object.entries(VIEWER_PAGE_FIELDS) as [TypeName, Record<string, string>][]).flatMap(([type, fields]) =>
    Object.entries(fields).map(([field, service]) => ({ type, field, service })),
  );

  test.each(rows)('$type.$field is served as $service', async ({ type, field, service }) => {
    const schema = await buildGraphQLSchema();
    const fieldType = getNamedType(objectType(schema, type).getFields()[field]!.type);
    const selection = isObjectType(fieldType) ? `${field} { __typename }` : field;
    const needs = viewerPageNeeds({ fieldNodes: [organizationsField(PATH[type](selection))] });
    expect(needs.timestamps).toBe(service === 'timestamp');
    // Team's fields are reached through Organization.teams, which asks for the teams itself.
    expect(needs.teams).toBe(type === 'Team' || service === 'teams');
  });

  test('a fragment spread reads everything (its fields are not looked up)', () => {
    const doc = parse('{ viewer { organizations { edges { ...E } } } } fragment E on OrganizationEdge { cursor }');
    const viewer = (doc.definitions[0] as OperationDefinitionNode).selectionSet.selections[0] as FieldNode;
    const organizations = (viewer.selectionSet as SelectionSetNode).selections[0] as FieldNode;
    expect(viewerPageNeeds({ fieldNodes: [organizations] })).toEqual({ teams: true, timestamps: true });
  });
});
