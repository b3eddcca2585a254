/**
 * How the Viewer page (`Viewer.organizations`, one statement) serves each field of the types
 * below it. The page reads teams and timestamps only when the selection names a field that
 * needs them; every field is listed here, so a new one is classified (a test checks the
 * schema against this table) instead of silently taking a slower path.
 */
import {
  type FieldNode,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  GraphQLIncludeDirective,
  type GraphQLResolveInfo,
  GraphQLSkipDirective,
  isObjectType,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import type { UserStatus } from '../../domain/model/index.js';

export type ViewerPageService =
  /** In the page's row: no statement of its own. */
  | 'row'
  /** In the row when the selection names a timestamp; else read for the whole page in one batched statement. */
  | 'timestamp'
  /** From every organization's teams, read with the page when the selection names such a field. */
  | 'teams'
  /** Its own read (batched per kind across the page), whatever the page reads. */
  | 'own-read';

export const VIEWER_PAGE_FIELDS = {
  Organization: {
    id: 'row',
    name: 'row',
    createdAt: 'timestamp',
    automaticUserAccess: 'row',
    viewerMembership: 'row',
    teams: 'teams',
    members: 'own-read',
    samlConnections: 'own-read',
    trustedSamlConnectionIds: 'own-read',
    scimTokens: 'own-read',
    events: 'own-read',
    webhookEndpoints: 'own-read',
    requireSso: 'own-read',
    domains: 'own-read',
  },
  Membership: {
    id: 'row',
    role: 'row',
    status: 'row',
    source: 'row',
    organization: 'row',
    lastVisitedAt: 'timestamp',
    createdAt: 'timestamp',
    updatedAt: 'timestamp',
    teams: 'teams',
    permissions: 'teams',
    user: 'own-read',
  },
  Team: {
    id: 'row',
    name: 'row',
    policies: 'row',
    externalId: 'row',
    createdAt: 'timestamp',
    updatedAt: 'timestamp',
  },
} as const satisfies Record<string, Record<string, ViewerPageService>>;

const fieldsServedBy = (service: ViewerPageService): ReadonlySet<string> =>
  new Set(Object.values(VIEWER_PAGE_FIELDS).flatMap((fields) => Object.entries(fields).filter(([, s]) => s === service).map(([name]) => name)));

const TEAM_FIELDS = fieldsServedBy('teams');
const TIMESTAMP_FIELDS = fieldsServedBy('timestamp');

/** Whether the selection below this field names any of `names` (fragment spreads count as yes). */
const selectsAnyField = (info: Pick<GraphQLResolveInfo, 'fieldNodes'>, names: ReadonlySet<string>): boolean => {
  const visit = (set: SelectionSetNode | undefined): boolean =>
    !!set &&
    set.selections.some((s) =>
      s.kind === 'FragmentSpread' ? true : s.kind === 'InlineFragment' ? visit(s.selectionSet) : names.has(s.name.value) || visit(s.selectionSet),
    );
  return info.fieldNodes.some((n) => visit(n.selectionSet));
};

/** What the Viewer page must read for this selection of `Viewer.organizations`. */
export const viewerPageNeeds = (info: Pick<GraphQLResolveInfo, 'fieldNodes'>): { teams: boolean; timestamps: boolean } => ({
  teams: selectsAnyField(info, TEAM_FIELDS),
  timestamps: selectsAnyField(info, TIMESTAMP_FIELDS),
});

/**
 * The arguments of `members` when the selection of this `organization` field reads it (the
 * first such field, directly or in an inline fragment), else null: then the organization and
 * that page are read in one statement.
 */
export const membersArguments = (
  info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'returnType' | 'variableValues'>,
): { first: number; after: string | null; status: UserStatus | null } | null => {
  const type = getNamedType(info.returnType);
  const field = isObjectType(type) ? type.getFields().members : undefined;
  if (!field) return null;
  // A field left out by @skip/@include is not read, so it must not be the one read with the organization.
  const included = (s: SelectionNode): boolean =>
    getDirectiveValues(GraphQLSkipDirective, s, info.variableValues)?.if !== true && getDirectiveValues(GraphQLIncludeDirective, s, info.variableValues)?.if !== false;
  const find = (set: SelectionSetNode | undefined): FieldNode | undefined => {
    for (const s of set?.selections ?? []) {
      if (!included(s)) continue;
      if (s.kind === 'Field' && s.name.value === 'members') return s;
      if (s.kind === 'InlineFragment') {
        const inner = find(s.selectionSet);
        if (inner) return inner;
      }
    }
    return undefined;
  };
  try {
    const node = info.fieldNodes.map((n) => find(n.selectionSet)).find((n) => n !== undefined);
    if (!node) return null;
    const args = getArgumentValues(field, node, info.variableValues);
    return { first: (args.first as number | null) ?? 50, after: (args.after as string | null) ?? null, status: (args.status as UserStatus | null) ?? null };
  } catch {
    // Arguments execution will refuse anyway.
    return null;
  }
};
