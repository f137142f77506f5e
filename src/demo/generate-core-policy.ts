import { DEMO_CUSTOMER, type DemoMessage } from './core-policy-values.ts';
import { generateClients } from './core-policy-clients.ts';
import { newCoreGen } from './core-policy-gen.ts';
import { generatePolicies } from './core-policy-policies.ts';
import { streamOf } from './core-policy-stream.ts';

/**
 * Synthetic core-policy (LIFEDB) traffic for the demo and for load tests, exactly as the Debezium Oracle
 * connector publishes it (§1 of shared/sources/source-systems.md; envelopes built by
 * connectors/core-policy/fixtures/events.ts: `schemas.enable=true`, CHAR columns padded, dates as YYYYMMDD
 * integers with 0 / 99999999 for unknown, DTEUPD in microseconds, amounts as string decimals).
 *
 * Why synthetic: real customer data is personal information (PIPL) and never leaves production. Why seeded:
 * the same seed gives the same stream byte for byte, so a newcomer, a test and a bug report see one data set.
 *
 * What is in it, on purpose:
 * - persons with surnames drawn by frequency, some compound surnames (欧阳, 司马 …), a few written in
 *   pinyin only or in traditional characters; children (insured by their parents, some identified by the
 *   household register 02); a few companies (CLTTYPE C, IDTYPE 08, credit codes, one in six an early pilot
 *   code that fails the check);
 * - mostly valid 18-digit resident ids consistent with birth date and sex, and the warts: bad check
 *   character, 17 digits, legacy 15-digit numbers, a birth date that disagrees with the id, unknown birth
 *   dates, sex U; passports (03);
 * - mobiles in the mixed formats sources send (`+86 138 0013 8000`, `0086…`, `86 …`, dashes, full-width),
 *   landlines (`021-62345678`, `(021)62345678`, extensions, 400 numbers), a few placeholders (`无`);
 * - duplicates: about one person in ten also exists under a second client number (same resident id, name in
 *   traditional characters, pinyin or with a stray space, another phone format);
 * - policies with one main cover (RIDER 00) and 0–2 riders; roles OW / LF / BN / PY, beneficiary order and
 *   shares (per order they sum to 100), history roles (VALIDFLAG 2);
 * - stream order: one role before everything else (it arrives before its policy and its client), the snapshot
 *   (op r), then changes: client updates, lapses and a reinstatement, beneficiary changes (old role becomes
 *   history), one re-keyed client (delete + tombstone, create under a new number, its roles moved), one policy
 *   deleted (with its covers and roles, each followed by a tombstone), and new business whose roles arrive
 *   before the policy and the client.
 */
export { DEMO_CUSTOMER, type DemoMessage };
// Exported lists are also used by generate-people.ts (matching benchmarks): keep their contents stable.
export { compound, givenChars, surnames, traditionalOf } from './chinese-names.ts';
export { cities } from './places.ts';

export function generateCorePolicyDemo(
  opts: { seed?: number; clients?: number; policies?: number } = {},
): DemoMessage[] {
  const g = newCoreGen(opts);
  const { people, clients } = generateClients(g);
  const book = generatePolicies(g, people, clients);
  return streamOf(g, people, clients, book);
}
