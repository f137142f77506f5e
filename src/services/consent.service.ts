import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../db/bound-sql.ts';

/** As `SourceRef` of customer.service.ts (the GraphQL SourceRef), kept here so the loaders need not import it. */
type SourceRef = {
  system: string;
  sourceId: string;
  sourceTime: Date | string | null;
  event: { eventId: string; sourceVersion: string; sourceTime: Date | string | null } | null;
};

/**
 * The consent registry's read side: a customer's consents are the `consent_event` rows of every source record
 * linked to them (the app accounts), grouped by purpose and channel; the latest answer (by the event's time,
 * then source version) is the current state. Loaded per request for many customers in one statement.
 */
export type ConsentChangeRow = { status: 'GRANTED' | 'WITHDRAWN'; at: Date | null; source: SourceRef };
export type ConsentStateRow = {
  purpose: string;
  channel: string;
  status: 'GRANTED' | 'WITHDRAWN';
  granted: boolean;
  since: Date | null;
  source: SourceRef;
  history: ConsentChangeRow[];
};
export type ContactDecisionRow = {
  allowed: boolean;
  status: 'GRANTED' | 'WITHDRAWN' | 'NEVER_ASKED';
  reason: string;
  since: Date | null;
  source: SourceRef | null;
};

type Row = {
  party_id: string;
  party_status: string;
  system: string;
  source_id: string;
  purpose: string;
  channel: string;
  status: 'GRANTED' | 'WITHDRAWN';
  occurred_at: Date | null;
  event_id: string | null;
  source_version: string;
};

export function consentsLoader(em: EntityManager) {
  return new DataLoader<string, ConsentStateRow[]>(async (partyIds) => {
    const rows = await executeBound<Row[]>(
      em,
      `select sr.party_id::text as party_id, p.status as party_status, sr.system, sr.source_id, c.purpose, c.channel, c.status,
              c.occurred_at, c.event_id, c.source_version::text as source_version
         from source_record sr join party p on p.id = sr.party_id
         join consent_event c on c.party_system = sr.system and c.party_source_id = sr.source_id
        where sr.party_id = any(?::uuid[])
        order by c.purpose, c.channel, c.occurred_at desc nulls last, c.source_version desc`,
      [[...partyIds]],
    );
    const byParty = new Map<string, Map<string, ConsentStateRow>>();
    for (const r of rows) {
      const states = byParty.get(r.party_id) ?? new Map<string, ConsentStateRow>();
      byParty.set(r.party_id, states);
      const key = `${r.purpose}/${r.channel}`;
      const change: ConsentChangeRow = {
        status: r.status,
        at: r.occurred_at,
        source: {
          system: r.system,
          sourceId: r.source_id,
          sourceTime: r.occurred_at,
          event: r.event_id
            ? { eventId: r.event_id, sourceVersion: r.source_version, sourceTime: r.occurred_at }
            : null,
        },
      };
      const state = states.get(key);
      if (state) state.history.push(change);
      else
        states.set(key, {
          purpose: r.purpose,
          channel: r.channel,
          status: r.status,
          granted: r.status === 'GRANTED',
          since: r.occurred_at,
          source: change.source,
          history: [change],
        });
    }
    return partyIds.map((id) => [...(byParty.get(id)?.values() ?? [])]);
  });
}

/**
 * The answer to "may we contact this customer for this purpose on this channel": yes only on a current grant.
 * No answer at all is no (the safe default: no consent, no marketing), and so is an erased customer.
 */
export function contactDecision(
  party: { status: string },
  consents: readonly ConsentStateRow[],
  purpose: string,
  channel: string,
): ContactDecisionRow {
  const what = `${purpose} by ${channel}`;
  if (party.status === 'ERASED')
    return { allowed: false, status: 'NEVER_ASKED', reason: 'the customer was erased', since: null, source: null };
  const state = consents.find((c) => c.purpose === purpose && c.channel === channel);
  if (!state)
    return {
      allowed: false,
      status: 'NEVER_ASKED',
      reason: `${what} was never asked: no consent, no contact`,
      since: null,
      source: null,
    };
  const when = state.since ? new Date(state.since).toISOString() : 'an unknown time';
  const via = `${state.source.system} ${state.source.event ? 'event' : 'record'}`;
  return {
    allowed: state.granted,
    status: state.status,
    reason: `${what} ${state.granted ? 'granted' : 'withdrawn'} at ${when} (${via})`,
    since: state.since,
    source: state.source,
  };
}
