/**
 * THE HOOK for consent in marketing lists (issue 15 part 3, the consent registry). `customers(segment:)` calls
 * this for a segment whose purpose is MARKETING and adds the returned predicate to its WHERE clause, so a customer
 * without consent never appears in a campaign audience. Until the consent registry exists it restricts nothing
 * (returns null); the registry replaces the body — e.g. `exists (select 1 from consent_current c where
 * c.party_id = ${partyIdColumn} and c.purpose = 'MARKETING' and c.granted)` — and nothing else has to change.
 * `partyIdColumn` is the SQL expression of the golden customer id in the list query.
 */
export type AudienceRestriction = { sql: string; params: unknown[] };

export function marketingAudience(partyIdColumn: string, channel: string | null = null): AudienceRestriction | null {
  void partyIdColumn;
  void channel;
  return null;
}
