// Lint: typescript-eslint (which is why TypeScript is pinned to 6.0.3, see README),
// plus import rules that hold the architecture's dependency direction (ARCHITECTURE.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const transportLibs = ['fastify', '@fastify/*', 'graphql', 'graphql-ws', 'type-graphql', '@apollo/*', '@as-integrations/*', 'samlify', 'nodemailer', 'ws'];
const domainNever = [...transportLibs, '**/transports/**', '**/app/**', '**/adapters/**', '**/cli/**', '**/config/**'];
const noImport = (groups, message) => ['error', { patterns: [{ group: groups, message }] }];
const noImportMatching = (regex, message) => ['error', { patterns: [{ regex, message }] }];

// Transports call the domain through the narrow services they declare; the composition root
// (app) wires them and the adapters, so a transport imports neither.
const transportGroups = {
  group: ['**/persistence/**', '@mikro-orm/*', '**/cli/**', '**/app/**', '**/adapters/**'],
  message: 'Transports call the domain through the services they declare; they never touch the EntityManager, the app or the adapters.',
};
// One edge never imports another; what several share lives in transports/shared. The rule
// sees the import as written, so the path that leaves the file's transport folder depends on depth.
const otherTransport = (up) => ({
  regex: `^${'\\.\\./'.repeat(up)}(?!shared/)[^./]`,
  message: 'A transport imports no other transport; move what several edges share to src/transports/shared.',
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.orgway/**', 'coverage/**', 'test/generated/**', 'ui/src/gql/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/domain/model/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': noImportMatching('^(?!\\./|node:url$)', 'domain/model imports nothing but itself (and node:url for IDN domains).') },
  },
  {
    files: ['src/domain/**/*.ts'],
    ignores: ['src/domain/model/**', 'src/domain/read/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: domainNever, message: 'The domain decides; it never imports transports, HTTP, GraphQL or SAML libraries.' },
            { group: ['**/read/read-scope.js'], message: 'The write side never imports the read scope; views are in domain/model, entity views in domain/read/views.' },
            { group: ['**/persistence/read/statements.js', '**/persistence/read/viewer-page.js'], message: "The read side's statements are read only through domain/read/read-scope." },
          ],
        },
      ],
    },
  },
  {
    files: ['src/domain/read/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': noImport(domainNever, 'The domain decides; it never imports transports, HTTP, GraphQL or SAML libraries.') },
  },
  {
    files: ['src/persistence/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: [...transportLibs, '**/transports/**', '**/app/**', '**/adapters/**', '**/cli/**'], message: 'Persistence never imports transports, adapters or the app.' },
            { regex: '/domain/(?!model/)', message: 'Persistence may import only domain/model.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/transports/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [transportGroups] }] },
  },
  {
    files: ['src/transports/*/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [transportGroups, otherTransport(1)] }] },
  },
  {
    files: ['src/transports/*/*/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [transportGroups, otherTransport(2)] }] },
  },
  {
    // Adapters fill domain ports with libraries (SMTP, DNS, HTTP, samlify); only the composition root wires them.
    files: ['src/adapters/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': noImport(
        ['**/transports/**', '**/app/**', '**/cli/**', '**/config/**', '**/persistence/**', '@mikro-orm/*'],
        'Adapters implement domain ports with libraries; they import the domain, never transports, persistence, the app or the CLI.',
      ),
    },
  },
);
