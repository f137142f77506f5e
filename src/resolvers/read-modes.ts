import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  Kind,
  type OperationDefinitionNode,
  print,
  type SelectionSetNode,
} from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from '../config/logger.ts';
import { beginReadSnapshot, type ReadSnapshot, readWithoutSnapshot } from '../db/read-snapshot.ts';
import type { ReadPool } from '../db/read-pool.ts';
import type { GraphQLContext, ReadMode } from './context.ts';

/**
 * How each query operation reads (mutations keep their own transactions on the main pool):
 *
 * - **One snapshot.** A customer 360 may take several statements (a field the plan did not read ahead, an alias,
 *   a source record behind a value); ingest commits between them. Such a query runs in one read-only REPEATABLE
 *   READ transaction (src/db/read-snapshot.ts), so an agent never sees a golden record of one commit with the
 *   contact points of the next.
 * - **One statement, no transaction.** An operation whose whole selection the customer service reads in the
 *   statement that finds the customers (`customer(id:)` or `searchCustomers` asking only for what the plan of
 *   src/resolvers/lookahead.ts reads ahead: the golden record, identifiers, contact points, one page of policies
 *   with roles, covers and participants) is one snapshot by itself: its statement goes out alone, which saves the
 *   begin and the rollback (two round trips) and holding a connection.
 *   What the documents ask decides it (`oneStatement`, cached per document); what the data holds can still make
 *   a second statement (a merged-away id is followed to its survivor through the loaders). So the statements are
 *   counted, and an operation that needed more than one is run again in a snapshot (`runAgainInSnapshot`, by the
 *   HTTP layer) and the first answer is thrown away unseen, its unmasked reads not audited (`discarded`).
 */
export const newReadMode = (): ReadMode => ({ snapshot: false, single: null });

/** The operation needed more than one statement without a snapshot: its answer may mix two moments. */
export const discarded = (mode: ReadMode): boolean => mode.single !== null && mode.single.statements() > 1;

/** After an answer: true (and the mode set to a snapshot) when the operation must be run again in a snapshot. */
export function runAgainInSnapshot(mode: ReadMode): boolean {
  if (mode.snapshot || !discarded(mode)) return false;
  mode.snapshot = true;
  mode.single = null;
  return true;
}

export function readModes(logger: Logger, pool: ReadPool): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      let snapshot: ReadSnapshot | null = null;
      return {
        async executionDidStart({ operation, document, contextValue }) {
          // (No operation: the document named none that it holds; Apollo answers that itself.)
          if (operation?.operation !== 'query') return;
          const mode = contextValue.readMode;
          if (!mode.snapshot && oneStatement(operation, document)) {
            mode.single = readWithoutSnapshot(contextValue.em, pool);
            return;
          }
          try {
            snapshot = await beginReadSnapshot(contextValue.em, pool);
          } catch (e) {
            // No snapshot to be had (pool exhausted, database unavailable): the fields read as before, each
            // failing with its own typed error if the database is gone.
            logger.warn('read snapshot not started; the query reads at read committed', { error: e });
          }
        },
        async willSendResponse() {
          if (!snapshot) return;
          const ending = snapshot;
          snapshot = null;
          await ending.end().catch((e: unknown) => logger.warn('ending a read snapshot failed', { error: e }));
        },
      };
    },
  };
}

/**
 * What the customer plan reads ahead, by type: a field maps to the fields allowed under it (`true`: a leaf, or a
 * subtree read from the row itself). `__typename` is allowed everywhere.
 */
type Allowed = { [field: string]: Allowed | true };
const participant: Allowed = {
  role: true,
  beneficiaryOrder: true,
  sharePercent: true,
  current: true,
  clientSourceId: true,
};
const policy: Allowed = {
  ...Object.fromEntries(
    'id system policyNo productCode status commencementDate paidToDate sumInsured premium billingFrequency channel agentCode'
      .split(' ')
      .map((f) => [f, true]),
  ),
  covers: true,
  participants: participant,
};
const customer: Allowed = {
  ...Object.fromEntries(
    'id kind status displayName familyName givenName birthDate sex occupationCode version updatedAt'
      .split(' ')
      .map((f) => [f, true]),
  ),
  // From the golden record's own column.
  lineage: true,
  identifiers: { type: true, value: true, valid: true, issues: true },
  contactPoints: { kind: true, value: true, valid: true, issues: true, validFrom: true },
  policies: { totalCount: true, pageInfo: true, edges: { cursor: true, roles: participant, node: policy } },
};
const roots: Allowed = {
  customer,
  searchCustomers: { pageInfo: true, edges: { cursor: true, score: true, node: customer } },
};

const decided = new WeakMap<OperationDefinitionNode, boolean>();

/** Does this operation read all it asks for in one statement? (AST only; decided once per parsed document.) */
export function oneStatement(operation: OperationDefinitionNode, document: DocumentNode): boolean {
  let known = decided.get(operation);
  if (known === undefined) {
    known = decide(operation, document);
    decided.set(operation, known);
  }
  return known;
}

function decide(operation: OperationDefinitionNode, document: DocumentNode): boolean {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const fields = (set: SelectionSetNode | undefined, seen: Set<string>): FieldNode[] | null => {
    const out: FieldNode[] = [];
    for (const s of set?.selections ?? []) {
      // A directive (@skip, @include, anything else) is not worth reasoning about here: a snapshot then.
      if ((s.directives?.length ?? 0) > 0) return null;
      if (s.kind === Kind.FIELD) {
        if (s.name.value !== '__typename') out.push(s);
        continue;
      }
      const inner =
        s.kind === Kind.INLINE_FRAGMENT
          ? s.selectionSet
          : seen.has(s.name.value)
            ? undefined
            : fragments.get(s.name.value)?.selectionSet;
      if (!inner) return null;
      const more = fields(inner, s.kind === Kind.FRAGMENT_SPREAD ? new Set([...seen, s.name.value]) : seen);
      if (!more) return null;
      out.push(...more);
    }
    return out;
  };
  const within = (nodes: FieldNode[], allowed: Allowed): boolean => {
    // Fields of one name are merged by GraphQL unless aliased apart; under one parent, each name may appear
    // once with one set of arguments (the plan reads one page of policies, one set of contact points).
    const byName = new Map<string, FieldNode[]>();
    for (const n of nodes) byName.set(n.name.value, [...(byName.get(n.name.value) ?? []), n]);
    for (const [name, same] of byName) {
      const rule = allowed[name];
      if (rule === undefined) return false;
      const args = new Set(same.map((n) => (n.arguments ?? []).map((a) => print(a)).join(',')));
      if (args.size > 1) return false;
      if (rule === true) continue;
      const children: FieldNode[] = [];
      for (const n of same) {
        const more = fields(n.selectionSet, new Set());
        if (!more) return false;
        children.push(...more);
      }
      if (!within(children, rule)) return false;
    }
    return true;
  };
  const top = fields(operation.selectionSet, new Set());
  // One root field: two (even two `customer`s) may be two statements.
  return top !== null && top.length === 1 && within(top, roots);
}
