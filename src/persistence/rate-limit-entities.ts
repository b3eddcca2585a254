/**
 * The shared rate-limit counters (SPEC §8), in the table layout rate-limiter-flexible's
 * PostgreSQL store reads and writes (key, points, expire in epoch milliseconds). Described
 * here so the migration and the schema check agree; only the library touches the rows.
 */
import { defineEntity, p } from '@mikro-orm/core';

export const RateLimitCounter = defineEntity({
  name: 'RateLimitCounter',
  tableName: 'rate_limits',
  indexes: [{ properties: ['expire'] }],
  properties: {
    key: p.string().length(255).primary(),
    points: p.integer().default(0),
    expire: p.bigint().nullable(),
  },
});

export const RATE_LIMIT_ENTITIES = [RateLimitCounter];
