import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { scaffoldConnector } from '../../src/cli/connector-scaffold.ts';
import type { Connector, SourceMessage } from '../../src/connectors/framework/connector.ts';
import type { ConformanceFixtures } from '../../src/connectors/framework/conformance.ts';
import { MappingError } from '../../src/connectors/framework/errors.ts';

/**
 * `hub connector new` on a copy of the source tree (inside the project, so packages resolve): the new folder is
 * registered, and its template mapping meets its own conformance fixtures — the starting point docs/connectors.md
 * tells an integration engineer to adapt.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const copy = join(root, '.cache', `scaffold-${randomBytes(4).toString('hex')}`);
afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe('connector scaffolding', () => {
  it('creates, registers and passes its fixtures', async () => {
    mkdirSync(copy, { recursive: true });
    cpSync(join(root, 'src'), join(copy, 'src'), { recursive: true });
    const written = scaffoldConnector('group-pension', copy);
    expect(written).toContain('src/connectors/group-pension/index.ts');
    expect(existsSync(join(copy, 'src/connectors/group-pension/fixtures/conformance.ts'))).toBe(true);
    expect(readFileSync(join(copy, 'src/connectors/registry.ts'), 'utf8')).toMatch(
      /groupPensionConnector,\n  \/\/ scaffold: connectors/,
    );
    expect(() => scaffoldConnector('group-pension', copy)).toThrow(/already exists/);
    expect(() => scaffoldConnector('Bad Name', copy)).toThrow(/kebab-case/);

    const { connectors } = (await import(join(copy, 'src/connectors/registry.ts'))) as { connectors: Connector[] };
    const connector = connectors.find((c) => c.manifest.id === 'group-pension');
    expect(connector).toBeDefined();
    const { conformance } = (await import(join(copy, 'src/connectors/group-pension/fixtures/conformance.ts'))) as {
      conformance: ConformanceFixtures;
    };
    const msg = (m: { topic: string; key: string | null; value: string | null }): SourceMessage => ({
      ...m,
      partition: 0,
      offset: '0',
      key: m.key ? Buffer.from(m.key) : null,
      value: m.value ? Buffer.from(m.value) : null,
      timestamp: null,
    });
    for (const f of conformance.valid) expect(connector!.map(msg(f.message))).toMatchObject(f.expected);
    for (const f of conformance.invalid) {
      try {
        connector!.map(msg(f.message));
        throw new Error('accepted an invalid fixture');
      } catch (e) {
        // the copy has its own MappingError class: compare by name and code
        expect((e as Error).name).toBe('MappingError');
        expect((e as MappingError).code).toBe(f.code);
      }
    }
  });
});
