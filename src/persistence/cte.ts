/**
 * Named common table expressions with their `?` parameters, so several writers can
 * contribute parts of one statement (one round trip, one implicit transaction).
 * Parameters are positional: `withCtes` concatenates them in the order of the text.
 */
export interface Cte {
  readonly name: string;
  /** The statement inside `as (…)`. */
  readonly body: string;
  readonly params: readonly unknown[];
  /** `as materialized`: evaluated once, never inlined into its readers. */
  readonly materialized?: boolean;
}

export interface Statement {
  readonly sql: string;
  readonly params: unknown[];
}

export const withCtes = (ctes: readonly Cte[], main: string, mainParams: readonly unknown[] = []): Statement => ({
  sql: `with ${ctes.map((c) => `${c.name} as ${c.materialized ? 'materialized ' : ''}(${c.body})`).join(',\n')}\n${main}`,
  params: [...ctes.flatMap((c) => c.params), ...mainParams],
});
