import type { CombinedError } from 'urql';

/** What the server said, in words: GraphQL error messages, never a stack. */
export const errorMessage = (error: CombinedError | Error | string | null | undefined): string | null => {
  if (!error) return null;
  if (typeof error === 'string') return error;
  if ('graphQLErrors' in error && error.graphQLErrors.length > 0) return error.graphQLErrors.map((e) => e.message).join(' ');
  if ('networkError' in error && error.networkError) return 'The gateway could not be reached; check your connection and try again.';
  return error.message.replace(/^\[(GraphQL|Network)\]\s*/, '');
};

/** The server's error code (extensions.code) of the first GraphQL error. */
export const errorCode = (error: CombinedError | null | undefined): string | undefined => {
  const code = error?.graphQLErrors[0]?.extensions?.code;
  if (typeof code === 'string') return code;
  const status = (error?.response as Response | undefined)?.status;
  return status === 401 ? 'UNAUTHENTICATED' : undefined;
};
