import type { EntityManager } from '@mikro-orm/postgresql';
import { QuarantinedEvent } from '../model/index.ts';
import { decodeCursor, encodeCursor, pageSize, pageOf } from './pagination.ts';
import type { Connection } from './customer.service.ts';

/** Lists quarantined messages, newest first, with keyset pagination on (receivedAt, id). */
export class QuarantineService {
  private readonly em: EntityManager;

  constructor(em: EntityManager) {
    this.em = em;
  }

  async list(args: {
    connector: string | null;
    first?: number | null;
    after?: string | null;
  }): Promise<Connection<{ cursor: string; node: QuarantinedEvent }>> {
    const limit = pageSize(args.first);
    const after = decodeCursor(
      args.after,
      'quarantine',
      (v): v is [string, string] => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'string'),
    );
    const where: Record<string, unknown> = {};
    if (args.connector) where.connector = args.connector;
    if (after)
      where.$or = [
        { receivedAt: { $lt: new Date(after[0]) } },
        { receivedAt: new Date(after[0]), id: { $lt: after[1] } },
      ];
    const rows = await this.em.find(QuarantinedEvent, where, {
      orderBy: { receivedAt: 'desc', id: 'desc' },
      limit: limit + 1,
    });
    return pageOf(rows, limit, after !== null, (node) =>
      encodeCursor('quarantine', [new Date(node.receivedAt).toISOString(), node.id]),
    );
  }
}
