/**
 * SPEC §8 Text at the GraphQL edge: string literals of the document (a validation rule,
 * cached with the document's validation) and every string of the variables (once per
 * operation, before execution reads any of them).
 */
import { GraphQLError, type ValidationRule } from 'graphql';
import { findIllFormedText, ILL_FORMED_TEXT, isWellFormedText } from '../../domain/model/index.js';

export const wellFormedLiteralsRule: ValidationRule = (context) => ({
  StringValue(node) {
    if (!isWellFormedText(node.value))
      context.reportError(new GraphQLError(`A string in the document ${ILL_FORMED_TEXT}.`, { nodes: [node], extensions: { code: 'BAD_USER_INPUT' } }));
  },
});

export const checkVariables = (variables: Record<string, unknown> | null | undefined): GraphQLError | null => {
  if (!variables) return null;
  const path = findIllFormedText(variables);
  if (path === null) return null;
  return new GraphQLError(`Variable "$${path}" ${ILL_FORMED_TEXT}.`, { extensions: { code: 'BAD_USER_INPUT', field: path, http: { status: 400 } } });
};
