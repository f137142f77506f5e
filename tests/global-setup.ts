import { ensureBroker, type Broker } from '../scripts/kafka/broker.ts';

/**
 * Starts the project's Kafka broker once for the whole suite (unless KAFKA_BROKERS points at one) and hands
 * its address to the test workers through the environment. A broker this setup started is stopped at the end;
 * one that was already running is left alone.
 */
let broker: Broker | null = null;

export async function setup(): Promise<void> {
  if (process.env.KAFKA_BROKERS) return;
  broker = await ensureBroker();
  process.env.KAFKA_BROKERS = broker.brokers.join(',');
}

export async function teardown(): Promise<void> {
  if (broker?.startedHere) await broker.stop();
}
