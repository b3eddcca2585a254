/**
 * Which subscription documents may share one execution among all their subscribers: those
 * that select no field whose answer depends on who is asking. A field says so in the schema
 * (`@Extensions({ viewerDependent: true })`), not by its name; the test beside the schema
 * walks every field reachable from a subscription's payload and fails on an object-typed
 * field that does not declare itself either way.
 */
import { BREAK, type DocumentNode, type GraphQLField, type GraphQLSchema, TypeInfo, visit, visitWithTypeInfo } from 'graphql';

export const VIEWER_DEPENDENT = 'viewerDependent';

export const isViewerDependentField = (field: GraphQLField<unknown, unknown> | null | undefined): boolean => field?.extensions?.[VIEWER_DEPENDENT] === true;

const verdicts = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, boolean>>();

export const readsViewerDependentFields = (schema: GraphQLSchema, document: DocumentNode): boolean => {
  let bySchema = verdicts.get(schema);
  if (!bySchema) verdicts.set(schema, (bySchema = new WeakMap()));
  let hit = bySchema.get(document);
  if (hit === undefined) {
    hit = false;
    const typeInfo = new TypeInfo(schema);
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Field() {
          if (!isViewerDependentField(typeInfo.getFieldDef())) return undefined;
          hit = true;
          return BREAK;
        },
      }),
    );
    bySchema.set(document, hit);
  }
  return hit;
};
