import { describe, expect, it } from 'vitest';
import { toDollarPlaceholders } from '../../src/db/bound-sql.ts';

describe('toDollarPlaceholders', () => {
  it('numbers placeholders in order, outside quoted literals and identifiers', () => {
    expect(toDollarPlaceholders("select ? as a, '?' as \"b?\", ? from t where x = ? and y = 'it''s ?'")).toBe(
      "select $1 as a, '?' as \"b?\", $2 from t where x = $3 and y = 'it''s ?'",
    );
  });
  it('leaves a text without placeholders as it is, and an unterminated quote quoted to the end', () => {
    expect(toDollarPlaceholders('select 1')).toBe('select 1');
    expect(toDollarPlaceholders("select ?, 'a ? b")).toBe("select $1, 'a ? b");
  });
  it('numbers thousands of placeholders of a multi-row VALUES list', () => {
    const rows = Array.from({ length: 2_000 }, () => '(?, ?::jsonb)').join(', ');
    const out = toDollarPlaceholders(`insert into t (a, b) values ${rows}`);
    expect(out.endsWith('($3999, $4000::jsonb)')).toBe(true);
    expect(out.match(/\$\d+/g)?.length).toBe(4_000);
  });
  it('refuses jsonb ? operators', () => {
    for (const op of ['??', '?|', '?&']) expect(() => toDollarPlaceholders(`select a ${op} b`)).toThrow(/jsonb/);
  });
});
