import type { WarmTable } from '../db/warm.ts';

/**
 * What the serving path reads per request, hottest first — the order `hub warm` reads them into the server's cache
 * (src/db/warm.ts). Searches go through the golden records' name index, the contact points' and identifiers'
 * value indexes and then read those customers' rows; the 360 adds their source records (by customer: an index
 * read), roles, policies and covers; risk flags, households and activities follow. Heaps are listed where a request
 * reads rows of them for each customer; source records and activities are large (payloads) and read a few rows per
 * customer, so only their indexes are warmed.
 */
export const servingTables: readonly WarmTable[] = [
  { table: 'party', heap: true },
  { table: 'contact_point', heap: true },
  { table: 'party_identifier', heap: true },
  { table: 'source_record', heap: false },
  { table: 'policy_role', heap: true },
  { table: 'policy', heap: true },
  { table: 'policy_cover', heap: true },
  { table: 'alert', heap: true },
  { table: 'screening_hit', heap: true },
  { table: 'household_member', heap: true },
  { table: 'relationship', heap: false },
  { table: 'customer_value', heap: false },
  { table: 'activity', heap: false },
];
