import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreEvent, dteupd, residentId } from '../../src/connectors/core-policy/fixtures/events.ts';
import { connectors } from '../../src/connectors/registry.ts';
import { ingestBatch } from '../../src/ingest/batch-source.ts';
import { TopicRouter } from '../../src/ingest/topic-router.ts';
import { ingestDeps, type RunningHub } from '../../src/runtime/hub.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { startTestHub, tokenFor } from '../support/hub.ts';
import { gql } from '../support/graphql.ts';

/**
 * Name search through GraphQL: exact key, prefix and (from four characters) trigram similarity, ranked. A key of
 * up to three characters is answered by the exact and prefix arms alone (the trigram arm would recheck many holders of
 * the surname: src/services/customer.service.ts, fuzzyNameSearch).
 */
const people: [string, string, string][] = [
  ['N0000001', '王', '伟'],
  ['N0000002', '王', '伟明'],
  ['N0000003', '王', '芳'],
  ['N0000004', '汪', '伟'],
  ['N0000005', '欧阳', '娜娜'],
  ['N0000006', '欧阳', '娜'],
  ['N0000007', '李', '小明'],
  ['N0000008', '李', '晓明'],
  ['N0000009', '司马', '相如'],
  ['N0000010', '司马', '相儒'],
  // Three different people named 张三 (by birth date and id number), and two whose names start with it.
  ['N0000011', '张', '三'],
  ['N0000012', '张', '三'],
  ['N0000013', '张', '三'],
  ['N0000014', '张', '三丰'],
  ['N0000015', '张', '三石'],
];

describe('name search', () => {
  let db: TestDatabase;
  let hub: RunningHub;
  let token: string;
  const names = async (name: string) => {
    const res = await gql(
      hub.url,
      token,
      `query($n: String!) { searchCustomers(query: { name: $n }) { edges { score node { displayName } } } }`,
      { n: name },
    );
    expect(res.errors).toBeUndefined();
    return res.data.searchCustomers.edges.map((e: { score: number; node: { displayName: string } }) => [
      e.node.displayName,
      e.score,
    ]);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    hub = await startTestHub({ DATABASE_URL: db.url });
    token = await tokenFor(hub, 'CHANNEL_APP');
    await ingestBatch(
      hub.orm,
      new TopicRouter(connectors),
      'fixture',
      people.map(([no, surname, given], i) =>
        coreEvent('client', 'r', {
          CLNTNUM: no,
          CLTTYPE: 'P',
          SURNAME: surname,
          GIVNAME: given,
          CLTSEX: 'M',
          CLTDOB: 19800101 + i,
          IDTYPE: '01',
          IDNO: residentId('340524', `${19800101 + i}`, `00${i}`),
          DTEUPD: dteupd('2026-11-01T00:00:00Z'),
        }),
      ),
      ingestDeps,
    );
  });
  afterAll(async () => {
    await hub?.stop();
    await db?.drop();
  });

  it('a two-character name finds the exact name first, then names starting with it, and nothing else', async () => {
    expect(await names('王伟')).toEqual([
      ['王伟', 1],
      ['王伟明', 0.5],
    ]);
    // A traditional-script or spaced query has the same key.
    expect((await names('王 偉')).map((n: [string, number]) => n[0])).toEqual(['王伟', '王伟明']);
  });

  it('from four characters, similar names are found too, ranked by similarity; a three-character name by key and prefix', async () => {
    // 司马相儒 shares three of 司马相如's five trigrams ("  司", " 司马", "司马相"): similarity 3/7 ≥ 0.3, and it
    // does not start with the query: only the trigram arm finds it.
    const found = await names('司马相如');
    expect(found.map((n: [string, number]) => n[0])).toEqual(['司马相如', '司马相儒']);
    expect(found[0][1]).toBe(1);
    expect(found[1][1]).toBeLessThan(1);
    // 李晓明 shares one trigram of 李小明's four ("  李"): 1/7, not similar; and a three-character key has no
    // trigram arm: only the same key or a name starting with it.
    expect(await names('李小明')).toEqual([['李小明', 1]]);
    expect((await names('欧阳娜娜')).map((n: [string, number]) => n[0])).toEqual(['欧阳娜娜', '欧阳娜']);
  });

  it('pages go through every exact holder before the names starting with the key, each hit once', async () => {
    const seen: [string, number][] = [];
    let after: string | null = null;
    type Page = {
      searchCustomers: {
        edges: { score: number; node: { id: string; displayName: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    };
    for (let pages = 0; pages < 5; pages += 1) {
      const res = await gql<Page>(
        hub.url,
        token,
        `query($after: String) { searchCustomers(query: { name: "张三" }, first: 2, after: $after) {
           edges { score node { id displayName } } pageInfo { hasNextPage endCursor } } }`,
        { after },
      );
      expect(res.errors).toBeUndefined();
      const c: Page['searchCustomers'] = (res.data as Page).searchCustomers;
      for (const e of c.edges) seen.push([`${e.node.displayName} ${e.node.id}`, e.score]);
      if (!c.pageInfo.hasNextPage) break;
      after = c.pageInfo.endCursor;
    }
    expect(new Set(seen.map(([k]) => k)).size).toBe(5);
    // Equally similar names come in id order, so the last two in either order.
    expect(seen.map(([k, score]) => [k.split(' ')[0], score === 1])).toEqual([
      ['张三', true],
      ['张三', true],
      ['张三', true],
      [expect.stringMatching(/^张三[丰石]$/), false],
      [expect.stringMatching(/^张三[丰石]$/), false],
    ]);
  });

  it('a one-character key is a prefix search', async () => {
    expect((await names('王')).map((n: [string, number]) => n[0]).sort()).toEqual(['王伟', '王伟明', '王芳']);
  });
});
