// The page frame: who is signed in, the organization switcher top left, the console's sections.
import { useEffect } from 'react';
import { useMutation, useQuery } from 'urql';
import { consoleSections } from './console/sections';
import { errorCode } from './errors';
import { graphql } from './gql';
import type { ShellViewerQuery } from './gql/graphql';
import { ErrorAlert } from './kit';
import { OrganizationSwitcher } from './OrganizationSwitcher';
import { Organizations } from './Organizations';
import { Link, navigate, usePath } from './router';
import { SignIn } from './SignIn';

export const ShellViewerDocument = graphql(`
  query ShellViewer {
    viewer {
      user {
        id
        email
        displayName
      }
      currentOrganization {
        id
        name
      }
      currentMembership {
        id
        role
        status
        permissions
      }
      organizations(first: 100) {
        totalCount
        edges {
          node {
            id
            name
          }
          membership {
            id
            role
            status
          }
        }
      }
    }
  }
`);

const SignOutDocument = graphql(`
  mutation SignOut {
    signOut
  }
`);

export type Viewer = ShellViewerQuery['viewer'];

export const App = () => {
  const path = usePath();
  const [{ data, error, fetching }, refetch] = useQuery({ query: ShellViewerDocument, requestPolicy: 'cache-and-network' });
  const [signOutState, signOut] = useMutation(SignOutDocument);
  const refresh = () => refetch({ requestPolicy: 'network-only' });

  const viewer = data?.viewer;
  const isAdmin = viewer?.currentMembership?.role === 'ORG_ADMIN' && viewer.currentMembership.status === 'ACTIVE';
  const section = consoleSections.find((s) => path === `/console/${s.path}`);

  useEffect(() => {
    document.title = section ? `${section.title} · orgway` : viewer ? 'Organizations · orgway' : 'Sign in · orgway';
  }, [section, viewer]);

  if (!viewer) {
    if (fetching && !error) return <p className="loading" role="status">Loading…</p>;
    if (error && errorCode(error) !== 'UNAUTHENTICATED')
      return (
        <main className="narrow">
          <h1>orgway</h1>
          <ErrorAlert error={error} />
        </main>
      );
    return <SignIn />;
  }

  const org = viewer.currentOrganization;
  return (
    <>
      <header className="topbar">
        <OrganizationSwitcher viewer={viewer} onSwitched={refresh} />
        <div className="who">
          <span className="email">{viewer.user.email}</span>
          <button
            type="button"
            className="link"
            disabled={signOutState.fetching}
            onClick={() => void signOut({}).then(() => location.assign('/'))}
          >
            Sign out
          </button>
        </div>
      </header>
      <div className="layout">
        <nav aria-label="Pages" className="sidebar">
          <ul>
            <li>
              <Link href="/organizations" aria-current={path === '/organizations' || path === '/' ? 'page' : undefined}>
                My organizations
              </Link>
            </li>
            <li>
              <a href="/graphql">GraphQL explorer</a>
            </li>
          </ul>
          {isAdmin && org ? (
            <>
              <h2 className="nav-title">Console</h2>
              <ul>
                {consoleSections.map((s) => (
                  <li key={s.path}>
                    <Link href={`/console/${s.path}`} aria-current={section === s ? 'page' : undefined}>
                      {s.title}
                    </Link>
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </nav>
        <main className="content">
          {section ? (
            isAdmin && org ? (
              <section.Page organizationId={org.id} organizationName={org.name} viewerUserId={viewer.user.id} />
            ) : (
              <>
                <h1>{section.title}</h1>
                <p>The console is for organization admins (ORG_ADMIN) of the organization you are in.</p>
                <p>
                  <Link href="/organizations">Back to your organizations</Link>
                </p>
              </>
            )
          ) : path.startsWith('/console') ? (
            <ConsoleRedirect />
          ) : (
            <Organizations viewer={viewer} onSwitched={refresh} />
          )}
        </main>
      </div>
    </>
  );
};

const ConsoleRedirect = () => {
  useEffect(() => navigate(`/console/${consoleSections[0]!.path}`), []);
  return null;
};
