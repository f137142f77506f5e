import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, type loadConfig } from '../config/config.ts';
import type { createLogger } from '../config/logger.ts';
import { startEmbeddedPostgres } from '../db/embedded-postgres.ts';
import { migrate, openOrm } from '../db/orm.ts';
import { verifyBearer } from '../auth/viewer.ts';
import { mayDo } from '../auth/access-policy.ts';
import { loadTokenSettings } from '../runtime/hub.ts';
import { RightsService } from '../services/rights.service.ts';
import { isErrorResult } from '../domain/results.ts';

/**
 * Personal-information rights from the command line, as the GraphQL mutations: who acts is the data steward the
 * token names (an erasure needs a second steward's token to approve), never a name typed on the command line.
 */
export async function rightsCommand(
  command: 'subject-access' | 'erase',
  rest: string[],
  config: ReturnType<typeof loadConfig>,
  logger: ReturnType<typeof createLogger>,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      token: { type: 'string' },
      out: { type: 'string' },
      reason: { type: 'string' },
      approve: { type: 'string' },
    },
  });
  const token = values.token ?? process.env.HUB_TOKEN;
  const usageLine =
    command === 'erase'
      ? 'usage: npm run hub -- erase CUSTOMER_ID --reason TEXT [--token JWT]  |  erase --approve REQUEST_ID [--token JWT]'
      : 'usage: npm run hub -- subject-access CUSTOMER_ID --out FILE.json [--reason TEXT] [--token JWT]';
  if (!token) throw new ConfigError(`${usageLine} (a data steward's token, or HUB_TOKEN)`);
  const steward = await verifyBearer(`Bearer ${token}`, loadTokenSettings(config, logger).tokens).catch(
    (e: unknown) => {
      throw new ConfigError(`the token is not accepted: ${(e as Error).message}`);
    },
  );
  if (!mayDo(steward, 'steward')) throw new ConfigError(`${steward.subject} is not a data steward`);
  const embedded = config.databaseUrl
    ? null
    : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort });
  const orm = await openOrm(config.databaseUrl ?? embedded!.url, { poolMax: 2, applicationName: 'hub-cli' });
  try {
    await migrate(orm);
    const rights = new RightsService(orm.em.fork(), steward.subject);
    if (command === 'subject-access') {
      const [customerId] = positionals;
      if (!customerId || !values.out) throw new ConfigError(usageLine);
      const result = await rights.exportData(customerId, values.reason ?? 'subject access request');
      if (isErrorResult(result)) throw new ConfigError(result.message);
      writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`, { mode: 0o600 });
      process.stdout.write(
        `exported customer ${result.customerId} to ${values.out} (request ${result.requestId}; ${Object.entries(
          result.data,
        )
          .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.length : 1}`)
          .join(', ')})\n`,
      );
      return 0;
    }
    if (values.approve) {
      const done = await rights.approveErasure(values.approve);
      if (isErrorResult(done)) throw new ConfigError(done.message);
      process.stdout.write(
        `erased customer ${done.customerId} (request ${done.id}, requested by ${done.requestedBy}, approved by ${done.approvedBy}): ${JSON.stringify(done.summary)}\n`,
      );
      return 0;
    }
    const [customerId] = positionals;
    if (!customerId || !values.reason) throw new ConfigError(usageLine);
    const requested = await rights.requestErasure(customerId, values.reason);
    if (isErrorResult(requested)) throw new ConfigError(requested.message);
    process.stdout.write(
      `erasure of customer ${requested.customerId} requested: ${requested.id}\nA second data steward approves with: npm run hub -- erase --approve ${requested.id} --token JWT\n`,
    );
    return 0;
  } finally {
    await orm.close(true);
    await embedded?.stop();
  }
}
