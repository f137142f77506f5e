import { ensureBroker } from '../../scripts/kafka/broker.ts';

/**
 * Brokers for integration tests: KAFKA_BROKERS when given, otherwise the project's own broker from Maven
 * Central jars (started once by tests/global-setup.ts). If neither works the test fails with what to install.
 */
export async function kafkaBrokers(): Promise<string[]> {
  const given = process.env.KAFKA_BROKERS;
  if (given) return given.split(',').map((b) => b.trim()).filter(Boolean);
  return (await ensureBroker({ log: () => {} })).brokers;
}
