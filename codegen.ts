/**
 * GraphQL Code Generator: typed documents from the committed schema.graphql (`npm run codegen`).
 * - test/generated: the operations in test/graphql/*.graphql, for the tests;
 * - ui/src/gql: the client preset for the hosted pages, whose documents are written with
 *   `graphql(…)` in ui/src (the pages) and in ui/org-switcher/*.graphql (the element).
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

const scalars = { DateTime: 'string' };

const config: CodegenConfig = {
  schema: 'schema.graphql',
  generates: {
    'test/generated/graphql.ts': {
      documents: ['test/graphql/**/*.graphql'],
      plugins: ['typescript-operations', 'typed-document-node'],
      config: { useTypeImports: true, enumsAsTypes: true, scalars },
    },
    'ui/src/gql/': {
      documents: ['ui/src/**/*.{ts,tsx}', 'ui/org-switcher/**/*.graphql', '!ui/src/gql/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { useTypeImports: true, enumsAsTypes: true, scalars },
    },
  },
};
export default config;
