/**
 * SPEC §8, a backstop behind the estimate: lists without `first` (an organization's teams with
 * their policies, a membership's teams and permissions, an event's team ids, automatic access
 * domains, and the admin lists: SCIM tokens, SAML connections and their certificates, domains,
 * webhook endpoints) are estimated at ASSUMED_LIST_SIZE items, but their
 * real length is whatever an organization's admins made it. One execution (a query, a
 * mutation, or one event of a subscription) may produce at most MAX_LIST_ITEMS of their items
 * in all; beyond that the field is QUERY_TOO_COMPLEX. An item counts once and once per field
 * the document selects on it (fragments included); a team's policies count only when selected.
 */
import { defaultFieldResolver, type FieldNode, type GraphQLResolveInfo, type GraphQLSchema, isObjectType, type SelectionSetNode } from 'graphql';
import type { TeamView } from '../../domain/model/index.js';
import type { GraphQLContext } from './context.js';
import { MAX_NODES, tooComplex } from './cost-limits.js';

export const MAX_LIST_ITEMS = 20 * MAX_NODES;

/** Response keys selected on the field's items, by field name (fragments followed), per field occurrence. */
const selectionsOf = new WeakMap<readonly FieldNode[], Map<string, number>>();

const selected = (info: GraphQLResolveInfo): Map<string, number> => {
  let byName = selectionsOf.get(info.fieldNodes);
  if (byName) return byName;
  byName = new Map();
  const seenKeys = new Set<string>();
  const seenFragments = new Set<string>();
  const walk = (set: SelectionSetNode | undefined) => {
    for (const s of set?.selections ?? []) {
      if (s.kind === 'Field') {
        // Same response key twice is one field in the result (graphql merges them).
        const key = s.alias?.value ?? s.name.value;
        if (seenKeys.has(key)) continue;
        seenKeys.add(key);
        byName!.set(s.name.value, (byName!.get(s.name.value) ?? 0) + 1);
      } else if (s.kind === 'InlineFragment') walk(s.selectionSet);
      else if (!seenFragments.has(s.name.value)) {
        seenFragments.add(s.name.value);
        walk(info.fragments[s.name.value]?.selectionSet);
      }
    }
  };
  for (const node of info.fieldNodes) walk(node.selectionSet);
  selectionsOf.set(info.fieldNodes, byName);
  return byName;
};

const fieldCount = (byName: Map<string, number>): number => {
  let n = 0;
  for (const c of byName.values()) n += c;
  return n;
};

/** Items counted so far in each subscription event (its root value): a subscription's context lives as long as it does. */
const perEvent = new WeakMap<GraphQLContext, WeakMap<object, number>>();

const spend = <T>(ctx: GraphQLContext, info: GraphQLResolveInfo, items: T[], count: number): T[] => {
  let total: number;
  const event = info.operation.operation === 'subscription' && typeof info.rootValue === 'object' && info.rootValue !== null ? info.rootValue : null;
  if (event) {
    let byEvent = perEvent.get(ctx);
    if (!byEvent) perEvent.set(ctx, (byEvent = new WeakMap()));
    total = (byEvent.get(event) ?? 0) + count;
    byEvent.set(event, total);
  } else total = ctx.listItems += count;
  if (total > MAX_LIST_ITEMS)
    throw tooComplex(`The result would hold more than ${MAX_LIST_ITEMS} items of lists without first (teams, policies, permissions, admin lists), the limit, found ${total}: ask for fewer of them.`);
  return items;
};

type Counter = (ctx: GraphQLContext, info: GraphQLResolveInfo) => (items: unknown[]) => number;

/** A team counts once and once per field selected on it, plus its policies when selected. */
const teams: Counter = (_ctx, info) => {
  const byName = selected(info);
  const fields = fieldCount(byName);
  const policyKeys = byName.get('policies') ?? 0;
  return (list) => {
    let n = list.length * (1 + fields);
    if (policyKeys) for (const t of list as TeamView[]) n += policyKeys * t.policies.length;
    return n;
  };
};
/** A string counts once and once per 64 characters (a domain name may be 253). */
const strings: Counter = () => (list) => {
  let n = list.length;
  for (const s of list) if (typeof s === 'string') n += s.length >> 6;
  return n;
};
/** An object counts once and once per field selected on it. */
const objects: Counter = (_ctx, info) => {
  const fields = fieldCount(selected(info));
  return (list) => list.length * (1 + fields);
};

/** The fields held to the budget, by type: how their items count. */
const BUDGETED: Record<string, Record<string, Counter>> = {
  Organization: { teams, scimTokens: objects, samlConnections: objects, trustedSamlConnectionIds: strings, domains: objects, webhookEndpoints: objects },
  Membership: { teams, permissions: strings },
  MembershipEvent: { teamIds: strings, previousTeamIds: strings },
  AutomaticUserAccess: { allowedDomains: strings },
  SamlConnection: { signingCertificates: objects },
};

/**
 * Wraps the resolvers of the budgeted fields in the built schema (both executors, graphql-js and
 * graphql-jit, call `field.resolve`): the resolvers themselves stay as they are, and no
 * decorator parameter is added to fields resolved hundreds of times per Viewer query.
 */
export const holdListFieldsToBudget = (schema: GraphQLSchema): void => {
  for (const [typeName, fields] of Object.entries(BUDGETED)) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) throw new Error(`list budget: no object type ${typeName}`);
    for (const [name, counter] of Object.entries(fields)) {
      const field = type.getFields()[name];
      if (!field) throw new Error(`list budget: ${typeName} has no field ${name}`);
      const resolve = field.resolve ?? defaultFieldResolver;
      field.resolve = (root, args, ctx: GraphQLContext, info) => {
        const items = resolve(root, args, ctx, info) as unknown[] | PromiseLike<unknown[] | null> | null;
        const count = counter(ctx, info);
        if (Array.isArray(items)) return spend(ctx, info, items, count(items));
        return items === null ? null : Promise.resolve(items).then((list) => (list === null ? null : spend(ctx, info, list, count(list))));
      };
    }
  }
};
