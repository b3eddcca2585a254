/**
 * The compiled executor (graphql-jit) must answer exactly as graphql-js does: same data,
 * same errors (message, path, locations, the thrown error as originalError), and it must
 * leave to graphql-js what it would do differently (mutations, input-object variables,
 * variables graphql-js refuses).
 */
import { buildSchema, GraphQLError, parse } from 'graphql';
import { describe, expect, test } from 'vitest';
import { createCompiledExecutor } from '../../src/transports/graphql/compiled-execution.js';

class Refused extends Error {
  code = 'FORBIDDEN';
}

const schema = buildSchema(`
  enum Color { RED GREEN }
  input Filter { color: Color! = RED, limit: Int! = 2 }
  type Item { id: ID! name: String! secret: String }
  type Query {
    items(first: Int!, color: Color): [Item!]!
    filtered(filter: Filter!): [Item!]!
    forbidden: Item!
    echo(text: String!): String!
  }
  type Mutation { rename(id: ID!, name: String!): Item! }
`);
const items = [
  { id: '1', name: 'one' },
  { id: '2', name: 'two' },
  { id: '3', name: 'three' },
];
const fields = schema.getQueryType()!.getFields();
fields.items!.resolve = (_root, args: { first: number; color?: string }) => items.slice(0, args.first).map((i) => ({ ...i, name: `${i.name}${args.color ? `-${args.color}` : ''}` }));
fields.filtered!.resolve = (_root, args: { filter: { color: string; limit: number } }) => items.slice(0, args.filter.limit).map((i) => ({ ...i, name: args.filter.color }));
fields.echo!.resolve = (_root, args: { text: string }) => args.text;
fields.forbidden!.resolve = () => {
  throw new Refused('not for you');
};
(schema.getType('Item') as never as { getFields(): Record<string, { resolve?: unknown }> }).getFields().secret!.resolve = () => {
  throw new Refused('secret');
};
schema.getMutationType()!.getFields().rename!.resolve = (_root, args: { id: string; name: string }) => ({ id: args.id, name: args.name });

const plain = (r: unknown) => JSON.parse(JSON.stringify(r)) as unknown;

const runTwice = async (source: string, variables?: Record<string, unknown>) => {
  const executor = createCompiledExecutor(schema);
  const document = parse(source);
  const results = [];
  for (let i = 0; i < 3; i++) results.push(await executor.execute({ document, variables: variables ?? null, context: {} }));
  return { executor, results };
};

describe('compiled execution', () => {
  test('a query is compiled on its second execution and answers as graphql-js does', async () => {
    const { executor, results } = await runTwice('query Q($n: Int!, $c: Color) { items(first: $n, color: $c) { id name } }', { n: 2, c: 'GREEN' });
    expect(executor.compiledCount).toBe(1);
    expect(plain(results[0])).toEqual({ data: { items: [{ id: '1', name: 'one-GREEN' }, { id: '2', name: 'two-GREEN' }] } });
    expect(plain(results[1])).toEqual(plain(results[0]));
    expect(plain(results[2])).toEqual(plain(results[0]));
  });

  test('resolver errors keep message, path, locations and the thrown error', async () => {
    const { executor, results } = await runTwice('{ items(first: 1) { id secret } forbidden { id } }');
    expect(executor.compiledCount).toBe(1);
    for (const r of results) {
      expect(r.data).toBeNull();
      const messages = (r.errors ?? []).map((e) => ({ message: e.message, path: e.path, locations: e.locations, code: (e.originalError as Refused).code }));
      expect(messages).toEqual(
        expect.arrayContaining([{ message: 'not for you', path: ['forbidden'], locations: [{ line: 1, column: 33 }], code: 'FORBIDDEN' }]),
      );
      for (const e of r.errors ?? []) {
        expect(e).toBeInstanceOf(GraphQLError);
        expect(e.extensions).toBeDefined();
      }
    }
    expect(plain(results[1])).toEqual(plain(results[0]));
  });

  test('variables graphql-js refuses get graphql-js errors, compiled or not', async () => {
    const executor = createCompiledExecutor(schema);
    const document = parse('query Q($n: Int!) { items(first: $n) { id } }');
    await executor.execute({ document, variables: { n: 1 }, context: {} });
    await executor.execute({ document, variables: { n: 1 }, context: {} });
    expect(executor.compiledCount).toBe(1);
    const refused = await executor.execute({ document, variables: { n: 'many' }, context: {} });
    expect(refused.errors?.[0]?.message).toMatch(/^Variable "\$n" got invalid value "many"; Int cannot represent non-integer value/);
    expect(refused.errors?.[0]?.nodes?.length).toBe(1);
  });

  test('input-object variables (defaults) and mutations run on graphql-js', async () => {
    const { executor, results } = await runTwice('query F($f: Filter!) { filtered(filter: $f) { name } }', { f: {} });
    expect(executor.compiledCount).toBe(0);
    expect(plain(results[2])).toEqual({ data: { filtered: [{ name: 'RED' }, { name: 'RED' }] } });
    const m = await runTwice('mutation { rename(id: "1", name: "uno") { id name } }');
    expect(m.executor.compiledCount).toBe(0);
    expect(plain(m.results[2])).toEqual({ data: { rename: { id: '1', name: 'uno' } } });
  });

  test('one document with several operations: each operation by its name', async () => {
    const executor = createCompiledExecutor(schema);
    const document = parse('query A { items(first: 1) { id } } query B { items(first: 3) { id } }');
    for (let i = 0; i < 2; i++) {
      expect(plain(await executor.execute({ document, operationName: 'A', context: {} }))).toEqual({ data: { items: [{ id: '1' }] } });
      expect(plain(await executor.execute({ document, operationName: 'B', context: {} }))).toEqual({ data: { items: [{ id: '1' }, { id: '2' }, { id: '3' }] } });
    }
    expect(executor.compiledCount).toBe(2);
  });

  test('string literals and aliases that look like code stay data', async () => {
    const nasty = String.raw`\"); throw new Error('injected'); //  ${'${process.exit(1)}'}  \u0060 */ '`;
    const { executor, results } = await runTwice(`{ a: echo(text: ${JSON.stringify(nasty)}) __typename }`);
    expect(executor.compiledCount).toBe(1);
    for (const r of results) expect(plain(r)).toEqual({ data: { a: nasty, __typename: 'Query' } });
  });

  test('at most 200 operations stay compiled', async () => {
    const executor = createCompiledExecutor(schema);
    for (let n = 0; n < 210; n++) {
      const document = parse(`query Q${n} { items(first: ${n % 3}) { id } }`);
      await executor.execute({ document, context: {} });
      await executor.execute({ document, context: {} });
    }
    expect(executor.compiledCount).toBe(200);
  });
});
