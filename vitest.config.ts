import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    pool: 'forks',
    // kafkajs schedules a negative timer delay on Node ≥ 23 (kafkajs#1751; see docs/architecture.md): not news.
    execArgv: ['--disable-warning=TimeoutNegativeWarning'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
