/** Who made a change; stored on every membership event as a string. */
export type Actor =
  | { kind: 'user'; userId: string }
  | { kind: 'saml'; connectionId: string }
  | { kind: 'scim'; tokenId: string }
  | { kind: 'jit'; connectionId: string }
  | { kind: 'cli' }
  | { kind: 'system' };

export const actorString = (actor: Actor): string => {
  switch (actor.kind) {
    case 'user':
      return `user:${actor.userId}`;
    case 'saml':
      return `saml:${actor.connectionId}`;
    case 'scim':
      return `scim:${actor.tokenId}`;
    case 'jit':
      return `jit:${actor.connectionId}`;
    case 'cli':
      return 'cli';
    case 'system':
      return 'system';
  }
};
