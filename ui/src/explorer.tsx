// The GraphQL explorer at /graphql: GraphiQL bundled by the build, same-origin with the session cookie.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

const fetcher = createGraphiQLFetcher({
  url: '/graphql',
  subscriptionUrl: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
});

const defaultQuery = `# The signed-in user and their organizations (sign in at / first; the session cookie is used).
query Viewer {
  viewer {
    user { id email }
    currentOrganization { id name }
    organizations { edges { node { id name } membership { role status permissions } } }
  }
}
`;

createRoot(document.getElementById('graphiql')!).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} defaultQuery={defaultQuery}>
      {/* Our name instead of GraphiQL's low-contrast link to its repository. */}
      <GraphiQL.Logo>
        <a href="/" style={{ color: '#1b1f24', fontWeight: 600, textDecoration: 'none' }}>
          orgway GraphQL explorer
        </a>
      </GraphiQL.Logo>
    </GraphiQL>
  </StrictMode>,
);
