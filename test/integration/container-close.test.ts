/**
 * Closing a container right after a write: the notification sent after that write's commit
 * finishes before the pool closes, instead of waiting on the closed pool and failing later.
 */
import { pino } from 'pino';
import { expect, test } from 'vitest';
import { createContainer } from '../../src/app/container.js';
import { loadConfig } from '../../src/config/config.js';
import { useDatabase } from '../kit/db.js';

const t = useDatabase();

test('close() right after a write: nothing is left running on the closed pool', async () => {
  const logged: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(line) });
  const config = loadConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'warn', ORGWAY_PUBLIC_URL: 'http://127.0.0.1:4000', ORGWAY_DB_ACQUIRE_TIMEOUT_MS: '300' });
  const container = await createContainer(config, { logger, startBackground: false });
  await container.organizations.bootstrap({ organizationName: 'Closing', adminEmail: 'closing@example.com' });
  await container.close();
  // Past the acquire timeout: a send still waiting on the closed pool would have failed and logged by now.
  await new Promise((r) => setTimeout(r, 800));
  expect(logged.join('')).not.toContain('notifying other instances');
});
