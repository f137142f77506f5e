import type { Connector } from './framework/connector.ts';
import { corePolicyConnector } from './core-policy/index.ts';
import { billingConnector } from './billing/index.ts';
import { claimsConnector } from './claims/index.ts';
import { contactCentreConnector } from './contact-centre/index.ts';
import { agencyCrmConnector } from './agency-crm/index.ts';
import { webAppConnector } from './web-app/index.ts';
import { bancassuranceConnector } from './bancassurance/index.ts';
// scaffold: imports (`npm run hub -- connector new NAME` adds lines above)

/** Every connector the hub runs. A new source system is one folder plus one line here. */
export const connectors: readonly Connector[] = [
  corePolicyConnector,
  billingConnector,
  claimsConnector,
  contactCentreConnector,
  agencyCrmConnector,
  webAppConnector,
  bancassuranceConnector,
  // scaffold: connectors
];

/** Connectors fed by Kafka topics (file connectors are fed by `hub import`). */
export const streamingConnectors: readonly Connector[] = connectors.filter(
  (c) => !c.manifest.topics.every((t) => t.endsWith('.file')),
);

export function connectorById(id: string): Connector {
  const found = connectors.find((c) => c.manifest.id === id);
  if (!found) throw new Error(`unknown connector "${id}" (known: ${connectors.map((c) => c.manifest.id).join(', ')})`);
  return found;
}
