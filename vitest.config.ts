import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    pool: 'forks',
    // Most integration files wait on Kafka, PostgreSQL and child processes rather than compute: on a 2-core
    // machine the default (one worker) took 968 s for the suite, three workers 563 s with every test passing.
    maxWorkers: 3,
    // kafkajs schedules a negative timer delay on Node ≥ 23 (kafkajs#1751; see docs/architecture.md): not news.
    execArgv: ['--disable-warning=TimeoutNegativeWarning'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
