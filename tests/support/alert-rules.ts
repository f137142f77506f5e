import pg from 'pg';

/**
 * Sets the hold of every rule that has one (the seeded loss-ratio and shared-contact rules: 60 s, see
 * src/risk/alerts.ts holdSecondsOf). Tests about what the rules find set it to 0, so that an alert opens in the
 * evaluation that finds it; the hold itself is tested in alert-hold.test.ts.
 */
export async function setAlertHolds(url: string, seconds: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(
      `update alert_rule set params = jsonb_set(params, '{holdSeconds}', to_jsonb($1::int)) where params ? 'holdSeconds'`,
      [seconds],
    );
  } finally {
    await c.end();
  }
}
