import { executeBound } from '../db/bound-sql.ts';
import { isUuid } from '../domain/errors.ts';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * `Query.node(id)`: which type an id belongs to. The hub's ids are random UUIDs in one space, so an id names one
 * object of one type; one statement probes each node table's primary key. Fetching the object and the role
 * check are the type's own (src/resolvers/node.resolver.ts).
 */
export const nodeTypes = ['Customer', 'Policy', 'Alert', 'BlacklistEntry', 'ReviewTask'] as const;
export type NodeType = (typeof nodeTypes)[number];

const tableOf: Record<NodeType, string> = {
  Customer: 'party',
  Policy: 'policy',
  Alert: 'alert',
  BlacklistEntry: 'blacklist_entry',
  ReviewTask: 'review_task',
};

export class NodeService {
  private readonly em: EntityManager;

  constructor(em: EntityManager) {
    this.em = em;
  }

  async typeOf(id: string): Promise<NodeType | null> {
    if (!isUuid(id)) return null;
    const probes = nodeTypes.map((t) => `(select '${t}'::text as type from ${tableOf[t]} where id = ?::uuid)`);
    const [row] = await executeBound<{ type: NodeType }[]>(
      this.em,
      `${probes.join(' union all ')} limit 1`,
      nodeTypes.map(() => id.toLowerCase()),
    );
    return row?.type ?? null;
  }
}
