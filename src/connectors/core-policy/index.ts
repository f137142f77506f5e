import type { Connector } from '../framework/connector.ts';
import { corePolicyManifest } from './manifest.ts';
import { mapCorePolicy } from './mapping.ts';

export const corePolicyConnector: Connector = { manifest: corePolicyManifest, map: mapCorePolicy };
