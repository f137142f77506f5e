import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type HubConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/config/logger.ts';
import { signToken, type Role } from '../../src/auth/viewer.ts';
import { startHub, type RunningHub } from '../../src/runtime/hub.ts';

/** Starts the real hub in-process on a free port, with a test signing secret. */
export const testJwtSecret = 'test-secret-test-secret-test-secret-0123';

export function testConfig(overrides: Record<string, string | undefined>): HubConfig {
  return loadConfig({
    PORT: '0',
    HUB_JWT_SECRET: testJwtSecret,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    HUB_DATA_DIR: mkdtempSync(join(tmpdir(), 'hub-test-')),
    KAFKA_GROUP_ID: `test-${randomBytes(4).toString('hex')}`,
    ...overrides,
  });
}

export async function startTestHub(
  overrides: Record<string, string | undefined>,
  opts: { demo?: boolean } = {},
): Promise<RunningHub> {
  const config = testConfig(overrides);
  return startHub(config, { demo: opts.demo ?? false, logger: createLogger(config.logLevel) });
}

export function tokenFor(hub: RunningHub, ...roles: Role[]): Promise<string> {
  return signToken(hub.tokens, `test-${roles.join('-').toLowerCase()}`, roles);
}
