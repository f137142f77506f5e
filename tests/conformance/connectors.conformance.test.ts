import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { connectors } from '../../src/connectors/registry.ts';
import { type Connector, type SourceMessage, textMessage } from '../../src/connectors/framework/connector.ts';
import type { ConformanceFixtures, FixtureMessage } from '../../src/connectors/framework/conformance.ts';
import { MappingError } from '../../src/connectors/framework/errors.ts';
import { applyBatch } from '../../src/ingest/apply-batch.ts';
import { migrate, openOrm, type Orm } from '../../src/db/orm.ts';
import { ingestDeps } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * The conformance suite every connector in the registry runs (Airbyte-style acceptance tests), from the
 * fixtures in src/connectors/<id>/fixtures/conformance.ts: expected canonical changes for valid messages,
 * rejection codes for invalid ones, an idempotent re-read against a real database, and resume from stored
 * positions. A connector without fixtures fails here.
 */
async function fixturesOf(connector: Connector): Promise<ConformanceFixtures> {
  try {
    const mod = (await import(`../../src/connectors/${connector.manifest.id}/fixtures/conformance.ts`)) as {
      conformance: ConformanceFixtures;
    };
    return mod.conformance;
  } catch (e) {
    throw new Error(
      `connector ${connector.manifest.id} has no src/connectors/${connector.manifest.id}/fixtures/conformance.ts (see docs/connectors.md): ${(e as Error).message}`,
    );
  }
}

const asMessage = (m: FixtureMessage, offset: number): SourceMessage => textMessage(m.topic, offset, m.key, m.value);

let db: TestDatabase;
let orm: Orm;
beforeAll(async () => {
  db = await createTestDatabase('hub_conformance');
  orm = await openOrm(db.url, { poolMax: 2 });
  await migrate(orm);
});
afterAll(async () => {
  await orm?.close(true);
  await db?.drop();
});

/** Everything a connector's changes can touch, without generated ids or wall-clock times. */
async function fingerprint(): Promise<string> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const parts = [];
    for (const sql of [
      `select system, source_id, source_version::text, deleted, attributes from source_record order by 1, 2`,
      `select count(*)::int from party where status = 'ACTIVE'`,
      `select system, policy_no, status, deleted, source_version::text from policy order by 1, 2`,
      `select system, policy_no, client_source_id, role, deleted from policy_role order by 1, 2, 3, 4`,
      `select kind, system, source_key, status, amount::text, deleted, source_version::text from activity order by 1, 2, 3`,
    ])
      parts.push((await c.query(sql)).rows);
    return JSON.stringify(parts);
  } finally {
    await c.end();
  }
}

for (const connector of connectors) {
  describe(`connector ${connector.manifest.id} conformance`, () => {
    it('declares a complete manifest', () => {
      expect(connector.manifest).toMatchObject({
        id: expect.stringMatching(/^[a-z][a-z0-9-]*$/),
        version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
        sourceSystem: expect.any(String),
        description: expect.any(String),
      });
      expect(connector.manifest.topics.length).toBeGreaterThan(0);
    });

    it('maps every valid fixture to the expected canonical changes', async () => {
      const { valid } = await fixturesOf(connector);
      expect(valid.length).toBeGreaterThan(0);
      for (const f of valid) expect(connector.map(asMessage(f.message, 0)), f.name).toMatchObject(f.expected);
    });

    it('rejects every invalid fixture with its error code', async () => {
      const { invalid } = await fixturesOf(connector);
      expect(invalid.length).toBeGreaterThan(0);
      for (const f of invalid) {
        let code: string | null = null;
        try {
          connector.map(asMessage(f.message, 0));
        } catch (e) {
          code = e instanceof MappingError ? e.code : `not a MappingError: ${(e as Error).message}`;
        }
        expect(code, f.name).toBe(f.code);
      }
    });

    it('rejects a zero-byte value, which is not a tombstone (a tombstone has a null value)', async () => {
      const { valid } = await fixturesOf(connector);
      const { message } = valid[0] as { message: FixtureMessage };
      let code: string | null = null;
      try {
        connector.map({ ...asMessage(message, 0), value: Buffer.alloc(0) });
      } catch (e) {
        code = e instanceof MappingError ? e.code : `not a MappingError: ${(e as Error).message}`;
      }
      expect(code).toBe('EMPTY_VALUE');
    });

    it('applies idempotently, quarantines invalid input with a reason, and resumes from stored positions', async () => {
      const { valid, invalid } = await fixturesOf(connector);
      const all = [...valid.map((f) => f.message), ...invalid.map((f) => f.message)];
      const byTopic = new Map<string, FixtureMessage[]>();
      for (const m of all) byTopic.set(m.topic, [...(byTopic.get(m.topic) ?? []), m]);
      const run = async (group: string) => {
        let quarantined = 0;
        let skipped = 0;
        for (const [topic, messages] of byTopic) {
          const route = { connector, topic: `conformance.${connector.manifest.id}.${topic}`, contractTopic: topic };
          const r = await applyBatch(
            orm,
            group,
            route,
            0,
            messages.map((m, i) => asMessage(m, i)),
            ingestDeps,
          );
          quarantined += r.quarantined;
          skipped += r.skipped;
          for (const rej of r.rejected) expect(rej.reason.length).toBeGreaterThan(5);
        }
        return { quarantined, skipped };
      };
      const first = await run(`conf-a-${connector.manifest.id}`);
      expect(first.quarantined).toBe(invalid.length);
      const after = await fingerprint();
      // A different group re-reads everything: nothing changes.
      await run(`conf-b-${connector.manifest.id}`);
      expect(await fingerprint()).toBe(after);
      // The first group resumes from its stored positions: everything is skipped.
      const resumed = await run(`conf-a-${connector.manifest.id}`);
      expect(resumed.skipped).toBe(all.length);
    });
  });
}
