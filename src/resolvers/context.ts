import type { RiskReviewService } from '../services/risk-review.service.ts';
import type { AccessAuditService, AuditedRead } from '../services/access-audit.service.ts';
import type { SearchRateLimiter } from './search-rate-limiter.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../config/logger.ts';
import type { QueryStats } from '../db/query-stats.ts';
import type { Viewer } from '../auth/viewer.ts';
import type { Loaders } from '../services/loaders.ts';
import type { CustomerService } from '../services/customer.service.ts';
import type { QuarantineService } from '../services/quarantine.service.ts';
import type { StewardshipService } from '../services/stewardship.service.ts';
import type { ActivityService } from '../services/activity.service.ts';
import type { RiskService } from '../services/risk.service.ts';
import type { HouseholdService } from '../services/household.service.ts';
import type { NetworkExclusionService } from '../services/network-exclusion.service.ts';
import type { NodeService } from '../services/node.service.ts';
import type { RightsService } from '../services/rights.service.ts';
import type { ProgrammeService } from '../services/programme.service.ts';
import type { CustomerCareService } from '../services/customer-care.service.ts';

/**
 * Per-request context (never shared between requests): the caller, one entity-manager fork, a fresh set of
 * DataLoaders, the services resolvers call into, the SQL statement counter and the access log of unmasked reads.
 */
export type GraphQLContext = {
  viewer: Viewer;
  em: EntityManager;
  loaders: Loaders;
  customers: CustomerService;
  quarantine: QuarantineService;
  stewardship: StewardshipService;
  activities: ActivityService;
  risk: RiskService;
  households: HouseholdService;
  exclusions: NetworkExclusionService;
  nodes: NodeService;
  /** Access exports and erasures (data stewards). */
  rights: RightsService;
  programme: ProgrammeService;
  care: CustomerCareService;
  stats: QueryStats;
  /** When the request must be done by (performance.now()): resolvers starting later fail (src/resolvers/limits.ts). */
  deadlineAt: number;
  /** How a query operation reads: one snapshot, or one statement (src/resolvers/read-modes.ts). */
  readMode: ReadMode;
  logger: Logger;
  /** Sensitive values returned unmasked in this request, written to the access audit when it ends. */
  unmaskedReads: { owner: AuditedRead['owner']; field: string }[];
  /** What the caller says it reads for (`x-purpose` header), recorded with each unmasked read. */
  purpose: string | null;
  audit: AccessAuditService;
  riskReview: RiskReviewService;
  /** Searches by identifier per caller, shared by all requests (src/resolvers/limits.ts). */
  searchLimiter: Pick<SearchRateLimiter, 'take'>;
};

/** How a query operation reads (src/resolvers/read-modes.ts). */
export type ReadMode = {
  /** Set when the operation is run again: it reads one snapshot whatever its document. */
  snapshot: boolean;
  /** The statements of an operation run without a snapshot, while it runs. */
  single: { statements(): number } | null;
};
