/**
 * SPEC §8, a backstop behind the estimate: lists without `first` (an organization's teams with
 * their policies, a membership's teams and permissions, and the admin lists: SCIM tokens, SAML
 * connections, domains, webhook endpoints) are estimated at ASSUMED_LIST_SIZE
 * items, but their real length is whatever an organization's admins made it. A query or
 * mutation (each subscription event is small and is not counted) may produce at most
 * MAX_LIST_ITEMS of their items in all; beyond that the field is QUERY_TOO_COMPLEX.
 */
import type { GraphQLResolveInfo } from 'graphql';
import type { TeamView } from '../../domain/model/index.js';
import type { GraphQLContext } from './context.js';
import { MAX_NODES, tooComplex } from './cost-limits.js';

export const MAX_LIST_ITEMS = 20 * MAX_NODES;

const spend = <T>(ctx: GraphQLContext, items: T[], count: number): T[] => {
  ctx.listItems += count;
  if (ctx.listItems > MAX_LIST_ITEMS)
    throw tooComplex(`The result would hold more than ${MAX_LIST_ITEMS} items of lists without first (teams, policies, permissions, admin lists), the limit, found ${ctx.listItems}: ask for fewer of them.`);
  return items;
};

const counted = <T>(ctx: GraphQLContext, info: GraphQLResolveInfo, items: T[] | Promise<T[]>, count: (items: T[]) => number): T[] | Promise<T[]> => {
  if (info.operation.operation === 'subscription') return items;
  return Array.isArray(items) ? spend(ctx, items, count(items)) : items.then((list) => spend(ctx, list, count(list)));
};

/** A team counts once and once per policy (its policies may be selected with it). */
const teamItems = (teams: readonly TeamView[]): number => {
  let n = teams.length;
  for (const t of teams) n += t.policies.length;
  return n;
};

export const countTeams = (ctx: GraphQLContext, info: GraphQLResolveInfo, teams: TeamView[] | Promise<TeamView[]>): TeamView[] | Promise<TeamView[]> => counted(ctx, info, teams, teamItems);

export const countStrings = (ctx: GraphQLContext, info: GraphQLResolveInfo, strings: string[] | Promise<string[]>): string[] | Promise<string[]> => counted(ctx, info, strings, (l) => l.length);

/** An object counts once and once per field selected on it. */
export const countObjects = <T>(ctx: GraphQLContext, info: GraphQLResolveInfo, objects: T[] | Promise<T[]>): T[] | Promise<T[]> => {
  const fields = info.fieldNodes[0]?.selectionSet?.selections.length ?? 0;
  return counted(ctx, info, objects, (l) => l.length * (1 + fields));
};
