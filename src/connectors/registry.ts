import type { Connector } from './framework/connector.ts';
import { corePolicyConnector } from './core-policy/index.ts';

/** Every connector the hub runs. A new source system is one folder plus one line here. */
export const connectors: readonly Connector[] = [corePolicyConnector];

export function connectorById(id: string): Connector {
  const found = connectors.find((c) => c.manifest.id === id);
  if (!found) throw new Error(`unknown connector "${id}" (known: ${connectors.map((c) => c.manifest.id).join(', ')})`);
  return found;
}
