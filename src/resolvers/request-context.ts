import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import type { QueryStats } from '../db/query-stats.ts';
import type { Viewer } from '../auth/viewer.ts';
import { mayDo } from '../auth/access-policy.ts';
import { createLoaders, type Loaders } from '../services/loaders.ts';
import { CustomerService } from '../services/customer.service.ts';
import { QuarantineService } from '../services/quarantine.service.ts';
import { StewardshipService } from '../services/stewardship.service.ts';
import { ActivityService } from '../services/activity.service.ts';
import { RiskService } from '../services/risk.service.ts';
import { HouseholdService } from '../services/household.service.ts';
import { NetworkExclusionService } from '../services/network-exclusion.service.ts';
import { NodeService } from '../services/node.service.ts';
import { RightsService } from '../services/rights.service.ts';
import { ProgrammeService } from '../services/programme.service.ts';
import { CustomerCareService } from '../services/customer-care.service.ts';
import { AccessAuditService } from '../services/access-audit.service.ts';
import { RiskReviewService } from '../services/risk-review.service.ts';
import type { GraphQLContext, ReadMode } from './context.ts';

/** What every request's context is built from: the request's own parts and the server's shared settings. */
export type RequestParts = Pick<
  GraphQLContext,
  'viewer' | 'em' | 'stats' | 'deadlineAt' | 'readMode' | 'logger' | 'purpose' | 'searchLimiter'
> & { suppression: { suppressionLimitDays: number; maxSuppressionDays: number } };

/**
 * The per-request GraphQL context. The services and the DataLoaders are made on first use: an operation touches
 * one or two of them, and making all fourteen services and twenty loaders up front cost every request (a phone
 * search included) time it never used. Each is still made at most once per request and never shared. Plain
 * (not #private) fields: Apollo Server clones the context object per request, and #private fields do not survive
 * the clone.
 */
export class RequestContext implements GraphQLContext {
  readonly viewer: Viewer;
  readonly em: EntityManager;
  readonly stats: QueryStats;
  readonly deadlineAt: number;
  readonly readMode: ReadMode;
  readonly logger: Logger;
  readonly purpose: string | null;
  readonly searchLimiter: GraphQLContext['searchLimiter'];
  readonly unmaskedReads: GraphQLContext['unmaskedReads'] = [];
  private readonly suppression: RequestParts['suppression'];
  private readonly made = new Map<string, unknown>();

  constructor(parts: RequestParts) {
    this.viewer = parts.viewer;
    this.em = parts.em;
    this.stats = parts.stats;
    this.deadlineAt = parts.deadlineAt;
    this.readMode = parts.readMode;
    this.logger = parts.logger;
    this.purpose = parts.purpose;
    this.searchLimiter = parts.searchLimiter;
    this.suppression = parts.suppression;
  }

  private once<T>(name: string, make: () => T): T {
    if (!this.made.has(name)) this.made.set(name, make());
    return this.made.get(name) as T;
  }

  get loaders(): Loaders {
    return this.once('loaders', () => createLoaders(this.em));
  }
  get customers(): CustomerService {
    return this.once('customers', () => new CustomerService(this.em, this.loaders));
  }
  get quarantine(): QuarantineService {
    return this.once('quarantine', () => new QuarantineService(this.em));
  }
  get stewardship(): StewardshipService {
    return this.once('stewardship', () => new StewardshipService(this.em, this.viewer.subject));
  }
  get activities(): ActivityService {
    return this.once('activities', () => new ActivityService(this.em));
  }
  get risk(): RiskService {
    return this.once('risk', () => new RiskService(this.em, this.viewer.subject));
  }
  get households(): HouseholdService {
    return this.once('households', () => new HouseholdService(this.em, this.viewer.subject));
  }
  get exclusions(): NetworkExclusionService {
    return this.once('exclusions', () => new NetworkExclusionService(this.em, this.viewer.subject));
  }
  get nodes(): NodeService {
    return this.once('nodes', () => new NodeService(this.em));
  }
  get rights(): RightsService {
    return this.once('rights', () => new RightsService(this.em, this.viewer.subject));
  }
  get programme(): ProgrammeService {
    return this.once('programme', () => new ProgrammeService(this.em, this.viewer.subject));
  }
  get care(): CustomerCareService {
    return this.once('care', () => new CustomerCareService(this.em));
  }
  get audit(): AccessAuditService {
    return this.once('audit', () => new AccessAuditService(this.em));
  }
  get riskReview(): RiskReviewService {
    return this.once(
      'riskReview',
      () =>
        new RiskReviewService(this.em, this.viewer.subject, mayDo(this.viewer, 'approveBlacklist'), this.suppression),
    );
  }
}
