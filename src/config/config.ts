import { z } from 'zod';

/**
 * All configuration comes from environment variables and is validated once at start-up, so a bad value stops
 * the hub with a message naming the variable instead of failing later in the middle of ingest.
 */
const optionalUrl = (what: string) =>
  z
    .string()
    .trim()
    .min(1)
    .refine((v) => URL.canParse(v), { message: `must be a ${what} URL` })
    .optional();

const brokerList = z
  .string()
  .trim()
  .min(1)
  .transform((v) =>
    v
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .refine((list) => list.length > 0 && list.every((b) => /^[\w.-]+:\d{1,5}$/.test(b)), {
    message: 'must be a comma-separated list of host:port',
  });

const envSchema = z.object({
  DATABASE_URL: optionalUrl('postgres://'),
  HUB_DATA_DIR: z.string().trim().min(1).default('.data'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  KAFKA_BROKERS: brokerList.optional(),
  KAFKA_CLIENT_ID: z.string().trim().min(1).default('customer-hub'),
  KAFKA_GROUP_ID: z.string().trim().min(1).default('customer-hub'),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .trim()
    .regex(/^[\w.-]*$/, 'may contain only letters, digits, ".", "_" and "-"')
    .default(''),
  HUB_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  HUB_JWT_ISSUER: z.string().trim().min(1).default('customer-hub'),
  HUB_JWT_AUDIENCE: z.string().trim().min(1).default('customer-hub'),
  HUB_JWT_MAX_LIFETIME_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(12 * 3600),
  HUB_DEV: z.enum(['0', '1']).optional(),
  HUB_FEDERATION: z.enum(['0', '1']).default('0'),
  HUB_SQL_STATEMENTS_HEADER: z.enum(['0', '1']).optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  INGEST_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(1),
  HUB_INGEST_MAX_KEY_LOCKS: z.coerce.number().int().min(50).max(1_000_000).default(1_000),
  RISK_ROUND_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  RISK_ROUND_MAX_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  HUB_PROGRAMME: z.enum(['0', '1']).default('1'),
  PROGRAMME_ROUND_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  HUB_WORKERS_THREAD: z.enum(['0', '1']).default('1'),
  HUB_PROGRAMME_REFRESH_HOURS: z.coerce
    .number()
    .int()
    .min(0)
    .max(24 * 30)
    .default(24),
  HUB_RESOLVE_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  HUB_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  HUB_MAX_QUERY_DEPTH: z.coerce.number().int().min(3).max(100).default(15),
  HUB_MAX_ALIASES: z.coerce.number().int().min(0).max(1_000).default(15),
  HUB_MAX_DIRECTIVES: z.coerce.number().int().min(0).max(1_000).default(20),
  HUB_MAX_QUERY_COST: z.coerce.number().int().min(100).max(10_000_000).default(60_000),
  HUB_MAX_QUERY_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(3_000),
  HUB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(1).max(600_000).default(5_000),
  HUB_QUERY_DEADLINE_MS: z.coerce.number().int().min(1).max(600_000).default(15_000),
  HUB_SEARCH_RATE_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(120),
  HUB_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(365),
  HUB_OUTBOX_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(7),
  HUB_SUPPRESSION_LIMIT_DAYS: z.coerce.number().int().min(1).max(3_650).default(30),
  HUB_MAX_SUPPRESSION_DAYS: z.coerce.number().int().min(1).max(3_650).default(365),
  HUB_TRUSTED_DOCUMENTS: z.string().trim().min(1).optional(),
  HUB_SHUTDOWN_BUDGET_MS: z.coerce.number().int().min(1_000).max(120_000).default(9_000),
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(30_000),
  SCHEMA_REGISTRY_URL: optionalUrl('http(s)://'),
  AVRO_CONNECTORS: z
    .string()
    .trim()
    .transform((v) =>
      v
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean),
    )
    .optional(),
});

export type HubConfig = {
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPgPort: number;
  port: number;
  host: string;
  kafkaBrokers: string[] | undefined;
  kafkaClientId: string;
  kafkaGroupId: string;
  kafkaTopicPrefix: string;
  jwtSecret: string | undefined;
  jwtIssuer: string;
  jwtAudience: string;
  jwtMaxLifetimeSeconds: number;
  /**
   * Development mode: the embedded default, or HUB_DEV=1. Production behaviour otherwise — no introspection, no
   * field suggestions, no stack traces, no statement-count header.
   */
  development: boolean;
  /** Send `x-sql-statements` (statements per request) with each response: development, or HUB_SQL_STATEMENTS_HEADER=1. */
  sqlStatementsHeader: boolean;
  /** Serve the schema as an Apollo Federation 2 subgraph (HUB_FEDERATION=1; src/resolvers/federation.ts). */
  federation: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  dbPoolMax: number;
  /** Topic partitions applied at the same time by one hub instance (each in its own transaction). */
  ingestConcurrency: number;
  /** Advisory locks (blocking keys, source records) a hub's ingest transactions hold at most, together (HUB_INGEST_MAX_KEY_LOCKS). */
  ingestMaxKeyLocks: number;
  /**
   * At most one risk-worker round per this many ms while commits keep coming (sooner once the stream is quiet): risk
   * flags trail ingest by up to this much at a steady rate.
   */
  riskRoundMs: number;
  /**
   * While the consumer reports a backlog, risk rounds are put off up to this many ms (RISK_ROUND_MAX_MS): how far
   * risk flags may trail ingest in a catch-up (src/db/worker-rounds.ts).
   */
  riskRoundMaxMs: number;
  /**
   * The customer programme's derivation (values, segments, follow-ups) after each applied batch (HUB_PROGRAMME,
   * default on; off only to measure what it costs, bench:ingest --programme).
   */
  programme: boolean;
  /** At most one programme-worker round per this many ms (PROGRAMME_ROUND_MS). */
  programmeRoundMs: number;
  /** A recompute of every customer runs when none ran for this many hours (0 = never; HUB_PROGRAMME_REFRESH_HOURS). */
  programmeRefreshHours: number;
  /**
   * The risk and programme workers on a thread of their own, with their own connections (HUB_WORKERS_THREAD, default
   * on; PostgreSQL only — on the embedded database they run beside ingest). Off: on the ingest thread, as before.
   */
  workersThread: boolean;
  /** How often the resolution pass runs in the hub (src/sync/resolve.ts); 0 = never (run `hub resolve`). */
  resolveIntervalSeconds: number;
  /** How long a signalled shutdown may take before the hub stops waiting and exits (HUB_SHUTDOWN_BUDGET_MS). */
  shutdownBudgetMs: number;
  /** Source message values longer than this are quarantined unmapped (HUB_MAX_MESSAGE_BYTES). */
  maxMessageBytes: number;
  /** Path of the trusted-documents manifest; when set only its operations run (HUB_TRUSTED_DOCUMENTS). */
  trustedDocumentsFile: string | undefined;
  /** Rows of the access audit are kept this many days (HUB_AUDIT_RETENTION_DAYS). */
  auditRetentionDays: number;
  /** Published outbox rows (alert changes, customer events) are kept this many days (HUB_OUTBOX_RETENTION_DAYS). */
  outboxRetentionDays: number;
  /** Alert suppressions longer than this need a second risk admin (HUB_SUPPRESSION_LIMIT_DAYS); none over HUB_MAX_SUPPRESSION_DAYS. */
  suppressionLimitDays: number;
  maxSuppressionDays: number;
  /** What one GraphQL request may cost (src/resolvers/limits.ts). */
  queryLimits: {
    maxDepth: number;
    maxAliases: number;
    maxDirectives: number;
    maxCost: number;
    maxTokens: number;
    statementTimeoutMs: number;
    deadlineMs: number;
    searchesPerMinute: number;
  };
  /** How long the group waits for a silent (crashed) member before handing its partitions to the others. */
  kafkaSessionTimeoutMs: number;
  /** Connectors whose topics carry the Confluent schema-registry wire format (Avro), and the registry. */
  avroConnectors: string[];
  schemaRegistryUrl: string | undefined;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): HubConfig {
  // Empty strings are treated as unset: `FOO= npm start` should not count as a value.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `  ${i.path.join('.')}: ${i.message} (got ${JSON.stringify(present[String(i.path[0])])})`,
    );
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if ((e.AVRO_CONNECTORS?.length ?? 0) > 0 && !e.SCHEMA_REGISTRY_URL) {
    throw new ConfigError(
      'Invalid configuration:\n  AVRO_CONNECTORS: needs SCHEMA_REGISTRY_URL (the registry the Avro schemas are read from)',
    );
  }
  if (e.HUB_FEDERATION === '1' && e.HUB_TRUSTED_DOCUMENTS) {
    throw new ConfigError(
      "Invalid configuration:\n  HUB_TRUSTED_DOCUMENTS: not with HUB_FEDERATION=1 (the router plans the subgraph's operations; keep the trusted documents on the router)",
    );
  }
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: e.HUB_DATA_DIR,
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    port: e.PORT,
    host: e.HOST,
    kafkaBrokers: e.KAFKA_BROKERS,
    kafkaClientId: e.KAFKA_CLIENT_ID,
    kafkaGroupId: e.KAFKA_GROUP_ID,
    kafkaTopicPrefix: e.KAFKA_TOPIC_PREFIX,
    jwtSecret: e.HUB_JWT_SECRET,
    jwtIssuer: e.HUB_JWT_ISSUER,
    jwtAudience: e.HUB_JWT_AUDIENCE,
    jwtMaxLifetimeSeconds: e.HUB_JWT_MAX_LIFETIME_SECONDS,
    development: e.HUB_DEV === '1' || (e.HUB_DEV === undefined && e.DATABASE_URL === undefined),
    sqlStatementsHeader:
      e.HUB_SQL_STATEMENTS_HEADER === '1' ||
      (e.HUB_SQL_STATEMENTS_HEADER === undefined && (e.HUB_DEV === '1' || e.DATABASE_URL === undefined)),
    federation: e.HUB_FEDERATION === '1',
    logLevel: e.LOG_LEVEL,
    dbPoolMax: e.DB_POOL_MAX,
    ingestConcurrency: e.INGEST_CONCURRENCY,
    ingestMaxKeyLocks: e.HUB_INGEST_MAX_KEY_LOCKS,
    riskRoundMs: e.RISK_ROUND_MS,
    riskRoundMaxMs: e.RISK_ROUND_MAX_MS,
    resolveIntervalSeconds: e.HUB_RESOLVE_INTERVAL_SECONDS,
    programme: e.HUB_PROGRAMME === '1',
    programmeRoundMs: e.PROGRAMME_ROUND_MS,
    programmeRefreshHours: e.HUB_PROGRAMME_REFRESH_HOURS,
    workersThread: e.HUB_WORKERS_THREAD === '1',
    shutdownBudgetMs: e.HUB_SHUTDOWN_BUDGET_MS,
    maxMessageBytes: e.HUB_MAX_MESSAGE_BYTES,
    trustedDocumentsFile: e.HUB_TRUSTED_DOCUMENTS,
    auditRetentionDays: e.HUB_AUDIT_RETENTION_DAYS,
    outboxRetentionDays: e.HUB_OUTBOX_RETENTION_DAYS,
    suppressionLimitDays: e.HUB_SUPPRESSION_LIMIT_DAYS,
    maxSuppressionDays: e.HUB_MAX_SUPPRESSION_DAYS,
    queryLimits: {
      maxDepth: e.HUB_MAX_QUERY_DEPTH,
      maxAliases: e.HUB_MAX_ALIASES,
      maxDirectives: e.HUB_MAX_DIRECTIVES,
      maxCost: e.HUB_MAX_QUERY_COST,
      maxTokens: e.HUB_MAX_QUERY_TOKENS,
      statementTimeoutMs: e.HUB_STATEMENT_TIMEOUT_MS,
      deadlineMs: e.HUB_QUERY_DEADLINE_MS,
      searchesPerMinute: e.HUB_SEARCH_RATE_PER_MINUTE,
    },
    kafkaSessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
    avroConnectors: e.AVRO_CONNECTORS ?? [],
    schemaRegistryUrl: e.SCHEMA_REGISTRY_URL,
  };
}
