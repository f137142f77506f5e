import {
  contactPointJsonRow,
  contactPointOrder,
  coverJsonRow,
  coverOrder,
  identifierJsonRow,
  identifierOrder,
  participantOrder,
  partyCols,
  policyJsonRow,
  roleJsonRow,
} from './read-rows.ts';

/** Which parts of a customer `CustomerService.read` reads with it. */
export type ReadParts = {
  lineage: boolean;
  identifiers: boolean;
  contactPoints: boolean;
  /** A page of policies (its arguments are parameters), with each policy's covers and participants or not. */
  policies: { covers: boolean; participants: boolean } | null;
};

/**
 * The statement of `CustomerService.read`: the customers `hits` names (a query returning `id`, and for a search
 * `score`), each with the parts asked for as JSON, built by PostgreSQL in the loaders' orders. Each combination
 * of parts is its own text, built once, and its own prepared statement (at most 2^6 a shape of `hits`: bounded by
 * the code). A part left out is not in the statement at all: when the parts were switched by parameters
 * (`case when $n`), a search by phone carried the whole policy page's plan, which PostgreSQL set up on every
 * execution though it never ran. After the placeholders of `hits` come the policy page's, when there is one:
 * include history, role (twice), after (system twice, policy number), limit.
 * Children are positional JSON arrays (src/services/read-rows.ts: `identifierJsonRow`, `policyJsonRow`, …), a policy's
 * followed by its roles, covers and participants.
 * The rows come in no particular order: a search sorts its page itself. Sorting here (`order by h.score desc,
 * h.id` over the joined rows) doubled PostgreSQL's CPU per phone search (0.22 against 0.12 ms a statement,
 * measured from node-postgres on bench:graphql's database) though the plans differ only by that sort node.
 */
const readSqls = new Map<string, string>();
export function readSql(hits: string, parts: ReadParts): string {
  const { policies } = parts;
  const key = `${hits}\u0000${parts.lineage}${parts.identifiers}${parts.contactPoints}${policies?.covers ?? '-'}${policies?.participants ?? '-'}`;
  let sql = readSqls.get(key);
  if (sql !== undefined) return sql;
  const identifiers = parts.identifiers
    ? `(select coalesce(json_agg(${identifierJsonRow.json('i')} order by ${identifierOrder('i')}), '[]'::json)
             from party_identifier i where i.party_id = p.id)`
    : 'null::json';
  const contactPoints = parts.contactPoints
    ? `(select coalesce(json_agg(${contactPointJsonRow.json('c')} order by ${contactPointOrder('c')}), '[]'::json)
             from contact_point c where c.party_id = p.id)`
    : 'null::json';
  const covers = policies?.covers
    ? `(select coalesce(json_agg(${coverJsonRow.json('pc')} order by ${coverOrder('pc')}), '[]'::json)
                          from policy_cover pc
                         where pc.system = m.system and pc.policy_no = m.policy_no and not pc.deleted)`
    : 'null::json';
  const participants = policies?.participants
    ? `(select coalesce(json_agg(${roleJsonRow.json('pp')} order by ${participantOrder('pp')}), '[]'::json)
                          from policy_role pp
                         where pp.system = m.system and pp.policy_no = m.policy_no and not pp.deleted)`
    : 'null::json';
  const page = policies
    ? `(
          with mine as (
            select pr.system, pr.policy_no, json_agg(${roleJsonRow.json('pr')} order by pr.role, pr.id) as roles
              from policy_role pr
              join source_record sr on sr.system = pr.system and sr.source_id = pr.client_source_id
              join policy pol on pol.system = pr.system and pol.policy_no = pr.policy_no
             where sr.party_id = p.id and not sr.deleted and not pr.deleted and not pol.deleted
               and (?::boolean or pr.current)
               and (?::text is null or pr.role = ?::text)
             group by pr.system, pr.policy_no)
          select json_build_object(
                   'total', (select count(*) from mine),
                   'page', coalesce(json_agg(${policyJsonRow.json('pol', ['m.roles', covers, participants])}
                     order by m.system, m.policy_no), '[]'::json))
            from (select * from mine
                   where ?::text is null or (system, policy_no) > (?::text, ?::text)
                   order by system, policy_no limit ?::int) m
            join policy pol on pol.system = m.system and pol.policy_no = m.policy_no
        )`
    : 'null::json';
  sql = `with h as (${hits})
      select h.*, ${partyCols('p', parts.lineage ? 'p.lineage' : 'null::jsonb')},
        ${identifiers} as "_identifiers",
        ${contactPoints} as "_contactPoints",
        ${page} as "_policies"
      from h join party p on p.id = h.id`;
  readSqls.set(key, sql);
  return sql;
}
