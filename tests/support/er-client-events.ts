import type { ErRow } from '../../bench/er-population.ts';
import { coreEvent, dteupd } from '../../src/connectors/core-policy/fixtures/events.ts';
import type { BatchInputMessage } from '../../src/ingest/batch-source.ts';

/**
 * Generated people (bench/er-population.ts) as core-policy client snapshot events, all with one update time, so
 * that only the records' content can order them (the resolution-order, arrival-order and resolve-retry tests). By
 * default a phone written with an area code is the landline, anything else the mobile; `phones: 'mobile'` sends
 * every phone as the mobile.
 */
export function erClientEvents(
  rows: readonly ErRow[],
  prefix: string,
  opts: { phones?: 'by-area-code' | 'mobile' } = {},
): BatchInputMessage[] {
  const ts = dteupd('2026-11-01T00:00:00Z');
  return rows.map((row, i) => {
    const a = row.attributes;
    const phone = a.phone ?? null;
    const landline = opts.phones !== 'mobile' && phone !== null && /^0\d{2,3}-/.test(phone);
    return coreEvent('client', 'r', {
      CLNTNUM: `${prefix}${String(i).padStart(7, '0')}`,
      CLTTYPE: 'P',
      SURNAME: a.familyName ?? null,
      GIVNAME: a.givenName ?? null,
      CLTSEX: a.sex ?? null,
      CLTDOB: a.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(a.birthDate) ? Number(a.birthDate.replaceAll('-', '')) : null,
      IDTYPE: a.idNumber ? '01' : null,
      IDNO: a.idNumber ?? null,
      MOBILE: landline ? null : phone,
      PHONE: landline ? phone : null,
      EMAIL: a.email ?? null,
      ADDR1: a.addressLine ?? null,
      ADDR2: null,
      ADDR3: null,
      POSTCODE: a.postcode ?? null,
      OCCPCODE: null,
      DTEUPD: ts,
    });
  });
}
