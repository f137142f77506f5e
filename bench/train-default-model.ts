import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePeople } from '../src/demo/generate-people.ts';
import { matchFileCommand } from '../src/cli/match-file.ts';

/**
 * Reproduces src/sync/match/engine/default-model.json, the streaming matcher's default parameters: the batch
 * engine estimates them (u from random pairs, m/λ by EM) on 50,000 generated records through `match-file
 * --model-out`. Deployments should estimate their own from real data and set HUB_MATCH_MODEL.
 *   npm run train:model
 */
const dir = mkdtempSync(join(tmpdir(), 'train-'));
const people = generatePeople(50_000, { seed: 11 });
const cols = [
  'record_id',
  'family_name',
  'given_name',
  'birth_date',
  'sex',
  'id_number',
  'phone',
  'email',
  'address',
  'city',
  'postcode',
];
const csv = (v: string | null | undefined) =>
  v === null || v === undefined ? '' : /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
writeFileSync(
  join(dir, 'train.csv'),
  `${cols.join(',')}\n${people.map((p) => [p.recordId, p.attributes.familyName, p.attributes.givenName, p.attributes.birthDate, p.attributes.sex, p.attributes.idNumber, p.attributes.phone, p.attributes.email, p.attributes.addressLine, p.attributes.city, p.attributes.postcode].map(csv).join(',')).join('\n')}\n`,
);
writeFileSync(
  join(dir, 'mapping.json'),
  JSON.stringify({
    recordId: 'record_id',
    attributes: {
      familyName: 'family_name',
      givenName: 'given_name',
      birthDate: 'birth_date',
      sex: 'sex',
      idNumber: 'id_number',
      phone: 'phone',
      email: 'email',
      addressLine: 'address',
      city: 'city',
      postcode: 'postcode',
    },
  }),
);
const out = fileURLToPath(new URL('../src/sync/match/engine/default-model.json', import.meta.url));
await matchFileCommand([
  '--source',
  `train=${join(dir, 'train.csv')}`,
  '--mapping',
  join(dir, 'mapping.json'),
  '--out',
  join(dir, 'out.csv'),
  '--model-out',
  out,
]);
console.log(`model written to ${out}`);
