import { marks } from '../db/sql-sets.ts';
import { executeBound } from '../db/bound-sql.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Activity } from '../model/index.ts';
import { decodeCursor, encodeCursor, pageSize } from './pagination.ts';
import type { Connection } from './customer.service.ts';

/**
 * A customer's activities across sources. An activity belongs to the customer when the source record it
 * references is linked to the customer, or (calls) when the caller's number is one of the customer's phones —
 * resolved at read time, so activities that arrived before their customer appear as soon as the customer does.
 * Newest first, keyset pagination on (occurredAt, id).
 */
export type ActivityFilter = {
  kinds?: readonly Activity['kind'][] | null;
  types?: readonly string[] | null;
  from?: Date | string | null;
  to?: Date | string | null;
};

const isCursor = (v: unknown): v is [string | null, string] =>
  Array.isArray(v) && v.length === 2 && (v[0] === null || typeof v[0] === 'string') && typeof v[1] === 'string';

export class ActivityService {
  private readonly em: EntityManager;

  constructor(em: EntityManager) {
    this.em = em;
  }

  async forCustomer(
    partyId: string,
    filter: ActivityFilter,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<Connection<{ cursor: string; node: Activity }>> {
    const limit = pageSize(first);
    const cursor = decodeCursor(after, 'activity', isCursor);
    const where = [
      'not a.deleted',
      `((a.party_system, a.party_source_id) in (select system, source_id from source_record where party_id = ? and not deleted)
        or a.caller_phone_key in (select search_key from contact_point where party_id = ? and search_key is not null))`,
    ];
    const params: unknown[] = [partyId, partyId];
    if (filter.kinds?.length) {
      where.push(`a.kind in (${marks(filter.kinds.length)})`);
      params.push(...filter.kinds);
    }
    if (filter.types?.length) {
      where.push(`a.type in (${marks(filter.types.length)})`);
      params.push(...filter.types);
    }
    if (filter.from) {
      where.push('a.occurred_at >= ?');
      params.push(new Date(filter.from));
    }
    if (filter.to) {
      where.push('a.occurred_at < ?');
      params.push(new Date(filter.to));
    }
    if (cursor) {
      // (occurred_at desc nulls last, id desc): rows after the cursor
      where.push(
        cursor[0] === null
          ? `(a.occurred_at is null and a.id < ?)`
          : `(a.occurred_at < ? or (a.occurred_at = ? and a.id < ?) or a.occurred_at is null)`,
      );
      params.push(...(cursor[0] === null ? [cursor[1]] : [new Date(cursor[0]), new Date(cursor[0]), cursor[1]]));
    }
    const rows = await executeBound<{ id: string }[]>(
      this.em,
      `select a.id from activity a where ${where.join(' and ')} order by a.occurred_at desc nulls last, a.id desc limit ?`,
      [...params, limit + 1],
    );
    const page = rows.slice(0, limit);
    const found = page.length === 0 ? [] : await this.em.find(Activity, { id: { $in: page.map((r) => r.id) } });
    const byId = new Map(found.map((a) => [a.id, a]));
    const edges = page.flatMap((r) => {
      const node = byId.get(r.id);
      return node
        ? [
            {
              cursor: encodeCursor('activity', [
                node.occurredAt ? new Date(node.occurredAt).toISOString() : null,
                node.id,
              ]),
              node,
            },
          ]
        : [];
    });
    return {
      edges,
      pageInfo: {
        hasNextPage: rows.length > limit,
        hasPreviousPage: cursor !== null,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
    };
  }
}
