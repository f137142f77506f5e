export * from './party.entity.ts';
export * from './source-record.entity.ts';
export * from './policy.entity.ts';
export * from './ingest.entity.ts';
export * from './identity.entity.ts';
export * from './activity.entity.ts';

import { ContactPoint, Party, PartyIdentifier } from './party.entity.ts';
import { SourceRecord } from './source-record.entity.ts';
import { Policy, PolicyCover, PolicyRole } from './policy.entity.ts';
import { ConsumerOffset, QuarantinedEvent } from './ingest.entity.ts';
import { PartyHistory, ReviewTask } from './identity.entity.ts';
import { Activity } from './activity.entity.ts';

export const allEntities = [
  Party,
  PartyIdentifier,
  ContactPoint,
  SourceRecord,
  Policy,
  PolicyCover,
  PolicyRole,
  ConsumerOffset,
  QuarantinedEvent,
  PartyHistory,
  ReviewTask,
  Activity,
];
