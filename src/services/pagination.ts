import { badInput } from '../domain/errors.ts';

/**
 * Relay cursors are opaque to clients (base64url of a small JSON document) and validated on the way in: a
 * tampered or foreign cursor is a BAD_USER_INPUT error, never a silent restart from the first page.
 */
export function encodeCursor(kind: string, value: unknown): string {
  return Buffer.from(JSON.stringify({ k: kind, v: value })).toString('base64url');
}

export function decodeCursor<T>(
  cursor: string | null | undefined,
  kind: string,
  check: (v: unknown) => v is T,
): T | null {
  if (cursor === null || cursor === undefined) return null;
  try {
    const doc = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown; v?: unknown };
    if (doc.k === kind && check(doc.v)) return doc.v;
  } catch {
    // fall through to the error below
  }
  throw badInput(`"after" is not a cursor returned by this connection`, 'after');
}

export function pageSize(first: number | null | undefined, max = 100): number {
  const n = first ?? 20;
  if (!Number.isInteger(n) || n < 1 || n > max) throw badInput(`"first" must be between 1 and ${max}`, 'first');
  return n;
}

/**
 * A Relay page from rows fetched with `limit + 1` (the extra row only says there is a next page): edges with
 * their cursors, and page info. `hadCursor`: the page started after a cursor (so there is a previous one).
 */
export function pageOf<T>(
  rows: readonly T[],
  limit: number,
  hadCursor: boolean,
  cursorOf: (node: T) => string,
): {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
} {
  const edges = rows.slice(0, limit).map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > limit,
      hasPreviousPage: hadCursor,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
