import { postgresUrl } from './postgres-url.js';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';

/**
 * Configuration is read once (flags over environment over defaults), validated and frozen. Every
 * setting is declared once in SETTINGS: its flag, its environment variable, its default and its
 * meaning; the CLI options and the README's configuration table are generated from the same list.
 * A few settings have no flag: the deployment injects them (ECS secrets, Lambda environment) or
 * `up` sets them for its capture child; they are read here all the same, never from process.env
 * elsewhere.
 */
export interface SettingSpec {
  /** camelCase name, also the commander option name. */
  key: keyof RawSettings;
  /** The global CLI option; none for a setting only the environment gives. */
  flag?: string;
  env: string;
  description: string;
  schema: z.ZodType;
}

const boolFromText = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]).transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const positiveInt = z.coerce.number().int().positive();
const optionalUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), { message: 'must be a postgres:// or postgresql:// URL' })
  .optional();
const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case Postgres identifier (a-z, 0-9, _)');
const optionalEndpoint = z.string().url().optional();
const optionalText = z.string().min(1).optional();
const optionalPort = z.coerce.number().int().min(1, 'must be a port number').max(65_535, 'must be a port number').optional();

const rawSettingsSchema = z.object({
  stateDir: z.string().min(1).default('.totesys-cdc'),
  sourceUrl: optionalUrl,
  warehouseUrl: optionalUrl,
  createSourceSchema: boolFromText.default(false),
  warehouseSchema: identifier.default('star'),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  slotName: identifier.default('totesys_cdc'),
  publicationName: identifier.default('totesys_cdc'),
  replicaIdentityFull: boolFromText.default(true),
  heartbeatIntervalMs: positiveInt.max(15_000, 'must be at most 15000 so an idle source never pins WAL').default(10_000),
  stream: z.enum(['local', 'kinesis']).default('local'),
  streamShards: positiveInt.max(64).default(4),
  kinesisStreamName: z.string().min(1).default('totesys-cdc-changes'),
  kinesisEndpoint: optionalEndpoint,
  buckets: z.enum(['local', 's3']).default('local'),
  ingestionBucket: z.string().min(1).default('totesys-cdc-ingestion'),
  processedBucket: z.string().min(1).default('totesys-cdc-processed'),
  s3Endpoint: optionalEndpoint,
  stateStore: z.enum(['local', 'dynamodb']).default('local'),
  dynamodbTable: z.string().min(1).default('totesys-cdc-state'),
  dynamodbEndpoint: optionalEndpoint,
  awsRegion: z.string().min(1).default('eu-west-2'),
  loaderIntervalMs: positiveInt.default(1_000),
  loaderDrainWindowMs: z.coerce.number().int().nonnegative().max(14 * 60_000, 'must be at most 840000 (a Lambda runs 15 minutes at most)').default(0),
  loaderPollIntervalMs: positiveInt.max(500, 'must be at most 500 so a draining loader sees a new manifest within half a second').default(250),
  archiveFlushIntervalMs: positiveInt.default(5_000),
  archiveMaxBytes: positiveInt.default(5 * 1024 * 1024),
  maxLineBytes: positiveInt.min(1024).max(1024 * 1024 * 1024).default(8 * 1024 * 1024),
  maxParquetRows: positiveInt.max(100_000_000).default(1_000_000),
  maxIssuesPerFile: positiveInt.default(1000),
  dashboardHost: z.string().min(1).default('127.0.0.1'),
  dashboardPort: z.coerce.number().int().min(0).max(65_535).default(7381),
  dashboardToken: z.string().min(16, 'must be at least 16 characters').optional(),
  // Environment only: each database's secret as ECS injects it (fields) or as a Lambda reads it (ARN).
  sourceHost: optionalText,
  sourcePort: optionalPort,
  sourceDb: optionalText,
  sourceUser: optionalText,
  sourcePassword: optionalText,
  sourceSecretArn: optionalText,
  warehouseHost: optionalText,
  warehousePort: optionalPort,
  warehouseDb: optionalText,
  warehouseUser: optionalText,
  warehousePassword: optionalText,
  warehouseSecretArn: optionalText,
  warehouseSslmode: z.enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']).optional(),
  // Environment only: the capture process.
  captureStatusFile: optionalText,
  metrics: z.enum(['none', 'emf']).default('none'),
  parentPid: positiveInt.optional(),
  // Environment only: what `status --aws` and `redrive-dlq` look at (their flags win).
  processorDlqUrl: z.string().url().optional(),
  processorFunctionName: optionalText,
  cloudwatchEndpoint: optionalEndpoint,
  sqsEndpoint: optionalEndpoint,
});

export type RawSettings = z.input<typeof rawSettingsSchema>;
type Settings = z.output<typeof rawSettingsSchema>;

const s = rawSettingsSchema.shape;
export const SETTINGS: readonly SettingSpec[] = [
  { key: 'stateDir', flag: '--state-dir <dir>', env: 'TOTESYS_STATE_DIR', schema: s.stateDir, description: 'local state: embedded Postgres data, stream log, buckets (default ./.totesys-cdc)' },
  { key: 'sourceUrl', flag: '--source-url <url>', env: 'TOTESYS_SOURCE_URL', schema: s.sourceUrl, description: 'external totesys Postgres instead of the embedded one' },
  { key: 'warehouseUrl', flag: '--warehouse-url <url>', env: 'TOTESYS_WAREHOUSE_URL', schema: s.warehouseUrl, description: 'external warehouse Postgres instead of the embedded one' },
  { key: 'warehouseSchema', flag: '--warehouse-schema <name>', env: 'TOTESYS_WAREHOUSE_SCHEMA', schema: s.warehouseSchema, description: 'Postgres schema of the star schema in the warehouse (default star)' },
  { key: 'createSourceSchema', flag: '--create-source-schema', env: 'TOTESYS_CREATE_SOURCE_SCHEMA', schema: s.createSourceSchema, description: 'create the totesys tables in an external --source-url database' },
  { key: 'logLevel', flag: '--log-level <level>', env: 'TOTESYS_LOG_LEVEL', schema: s.logLevel, description: 'debug, info, warn, error or silent (default info)' },
  { key: 'slotName', flag: '--slot-name <name>', env: 'TOTESYS_SLOT_NAME', schema: s.slotName, description: 'logical replication slot (default totesys_cdc)' },
  { key: 'publicationName', flag: '--publication-name <name>', env: 'TOTESYS_PUBLICATION_NAME', schema: s.publicationName, description: 'publication of the 11 tables (default totesys_cdc)' },
  { key: 'replicaIdentityFull', flag: '--replica-identity-full <bool>', env: 'TOTESYS_REPLICA_IDENTITY_FULL', schema: s.replicaIdentityFull, description: 'set REPLICA IDENTITY FULL on the captured tables (default true)' },
  { key: 'heartbeatIntervalMs', flag: '--heartbeat-interval-ms <ms>', env: 'TOTESYS_HEARTBEAT_INTERVAL_MS', schema: s.heartbeatIntervalMs, description: 'heartbeat and idle confirm interval, at most 15000 (default 10000)' },
  { key: 'stream', flag: '--stream <kind>', env: 'TOTESYS_STREAM', schema: s.stream, description: 'change stream: local or kinesis (default local)' },
  { key: 'streamShards', flag: '--stream-shards <n>', env: 'TOTESYS_STREAM_SHARDS', schema: s.streamShards, description: 'shards of the local stream (default 4)' },
  { key: 'kinesisStreamName', flag: '--kinesis-stream-name <name>', env: 'TOTESYS_KINESIS_STREAM_NAME', schema: s.kinesisStreamName, description: 'Kinesis stream name (default totesys-cdc-changes)' },
  { key: 'kinesisEndpoint', flag: '--kinesis-endpoint <url>', env: 'TOTESYS_KINESIS_ENDPOINT', schema: s.kinesisEndpoint, description: 'Kinesis endpoint override (emulators)' },
  { key: 'buckets', flag: '--buckets <kind>', env: 'TOTESYS_BUCKETS', schema: s.buckets, description: 'buckets: local or s3 (default local)' },
  { key: 'ingestionBucket', flag: '--ingestion-bucket <name>', env: 'TOTESYS_INGESTION_BUCKET', schema: s.ingestionBucket, description: 'raw change archive bucket' },
  { key: 'processedBucket', flag: '--processed-bucket <name>', env: 'TOTESYS_PROCESSED_BUCKET', schema: s.processedBucket, description: 'processed Parquet bucket' },
  { key: 's3Endpoint', flag: '--s3-endpoint <url>', env: 'TOTESYS_S3_ENDPOINT', schema: s.s3Endpoint, description: 'S3 endpoint override (emulators)' },
  { key: 'stateStore', flag: '--state-store <kind>', env: 'TOTESYS_STATE_STORE', schema: s.stateStore, description: 'processor join state: local or dynamodb (default local)' },
  { key: 'dynamodbTable', flag: '--dynamodb-table <name>', env: 'TOTESYS_DYNAMODB_TABLE', schema: s.dynamodbTable, description: 'DynamoDB state table' },
  { key: 'dynamodbEndpoint', flag: '--dynamodb-endpoint <url>', env: 'TOTESYS_DYNAMODB_ENDPOINT', schema: s.dynamodbEndpoint, description: 'DynamoDB endpoint override (emulators)' },
  { key: 'awsRegion', flag: '--aws-region <region>', env: 'AWS_REGION', schema: s.awsRegion, description: 'AWS region (default eu-west-2)' },
  { key: 'loaderIntervalMs', flag: '--loader-interval-ms <ms>', env: 'TOTESYS_LOADER_INTERVAL_MS', schema: s.loaderIntervalMs, description: 'local loader schedule (default 1000)' },
  { key: 'loaderDrainWindowMs', flag: '--loader-drain-window-ms <ms>', env: 'TOTESYS_LOADER_DRAIN_WINDOW_MS', schema: s.loaderDrainWindowMs, description: 'how long one loader run keeps loading new manifests as they appear; 0 = one pass (default 0; 58000 suits the AWS loader on its 1-minute schedule)' },
  { key: 'loaderPollIntervalMs', flag: '--loader-poll-interval-ms <ms>', env: 'TOTESYS_LOADER_POLL_INTERVAL_MS', schema: s.loaderPollIntervalMs, description: 'how often a draining loader looks for new manifests, at most 500 (default 250)' },
  { key: 'archiveFlushIntervalMs', flag: '--archive-flush-interval-ms <ms>', env: 'TOTESYS_ARCHIVE_FLUSH_INTERVAL_MS', schema: s.archiveFlushIntervalMs, description: 'local archiver buffering time (default 5000)' },
  { key: 'archiveMaxBytes', flag: '--archive-max-bytes <n>', env: 'TOTESYS_ARCHIVE_MAX_BYTES', schema: s.archiveMaxBytes, description: 'local archiver buffering size (default 5 MiB)' },
  { key: 'maxLineBytes', flag: '--max-line-bytes <n>', env: 'TOTESYS_MAX_LINE_BYTES', schema: s.maxLineBytes, description: 'longest archived line replay reads; a longer one fails its file (default 8 MiB)' },
  { key: 'maxParquetRows', flag: '--max-parquet-rows <n>', env: 'TOTESYS_MAX_PARQUET_ROWS', schema: s.maxParquetRows, description: 'most rows the loader reads from one Parquet file (also at most 1 per byte); more fails its manifest (default 1000000)' },
  { key: 'maxIssuesPerFile', flag: '--max-issues-per-file <n>', env: 'TOTESYS_MAX_ISSUES_PER_FILE', schema: s.maxIssuesPerFile, description: 'problems replay keeps in full per archive file; the rest are counted (default 1000)' },
  { key: 'dashboardHost', flag: '--dashboard-host <address>', env: 'TOTESYS_DASHBOARD_HOST', schema: s.dashboardHost, description: "address `up`'s dashboard binds (default 127.0.0.1; any other needs a token)" },
  { key: 'dashboardPort', flag: '--dashboard-port <port>', env: 'TOTESYS_DASHBOARD_PORT', schema: s.dashboardPort, description: "port of `up`'s dashboard and /metrics (default 7381; 0: any free port)" },
  { key: 'dashboardToken', flag: '--dashboard-token <token>', env: 'TOTESYS_DASHBOARD_TOKEN', schema: s.dashboardToken, description: 'bearer token the dashboard requires (set it in the environment: a flag shows in `ps`)' },
  { key: 'sourceHost', env: 'TOTESYS_SOURCE_HOST', schema: s.sourceHost, description: 'AWS: the source endpoint from its secret; with _PORT, _DB, _USER, _PASSWORD and no _SECRET_ARN it makes the source URL' },
  { key: 'sourcePort', env: 'TOTESYS_SOURCE_PORT', schema: s.sourcePort, description: 'AWS: the source port (default 5432)' },
  { key: 'sourceDb', env: 'TOTESYS_SOURCE_DB', schema: s.sourceDb, description: 'AWS: the source database name' },
  { key: 'sourceUser', env: 'TOTESYS_SOURCE_USER', schema: s.sourceUser, description: 'AWS: the source user (an ECS secret)' },
  { key: 'sourcePassword', env: 'TOTESYS_SOURCE_PASSWORD', schema: s.sourcePassword, description: 'AWS: the source password (an ECS secret)' },
  { key: 'sourceSecretArn', env: 'TOTESYS_SOURCE_SECRET_ARN', schema: s.sourceSecretArn, description: 'AWS Lambda: the source RDS secret, read by the slot monitor' },
  { key: 'warehouseHost', env: 'TOTESYS_WAREHOUSE_HOST', schema: s.warehouseHost, description: 'AWS: the warehouse endpoint; with _PORT, _DB, _USER, _PASSWORD and no _SECRET_ARN it makes the warehouse URL' },
  { key: 'warehousePort', env: 'TOTESYS_WAREHOUSE_PORT', schema: s.warehousePort, description: 'AWS: the warehouse port (default 5432)' },
  { key: 'warehouseDb', env: 'TOTESYS_WAREHOUSE_DB', schema: s.warehouseDb, description: 'AWS: the warehouse database name' },
  { key: 'warehouseUser', env: 'TOTESYS_WAREHOUSE_USER', schema: s.warehouseUser, description: 'AWS: the warehouse user (an ECS secret)' },
  { key: 'warehousePassword', env: 'TOTESYS_WAREHOUSE_PASSWORD', schema: s.warehousePassword, description: 'AWS: the warehouse password (an ECS secret)' },
  { key: 'warehouseSecretArn', env: 'TOTESYS_WAREHOUSE_SECRET_ARN', schema: s.warehouseSecretArn, description: 'AWS: the warehouse RDS secret, read by the loader Lambda (and doctor, status --aws)' },
  { key: 'warehouseSslmode', env: 'TOTESYS_WAREHOUSE_SSLMODE', schema: s.warehouseSslmode, description: 'sslmode of the URL built from the warehouse secret' },
  { key: 'captureStatusFile', env: 'TOTESYS_CAPTURE_STATUS_FILE', schema: s.captureStatusFile, description: "capture process: its status JSON (default <stateDir>/capture-status.json; the ECS health check reads it)" },
  { key: 'metrics', env: 'TOTESYS_METRICS', schema: s.metrics, description: 'capture process: none, or emf for CloudWatch embedded-metric lines on stdout (AWS)' },
  { key: 'parentPid', env: 'TOTESYS_PARENT_PID', schema: s.parentPid, description: "set by `up` for its capture child, which stops when that process is gone" },
  { key: 'processorDlqUrl', env: 'TOTESYS_PROCESSOR_DLQ_URL', schema: s.processorDlqUrl, description: 'the processor dead-letter queue, for `status --aws` and `redrive-dlq` (their --queue-url wins)' },
  { key: 'processorFunctionName', env: 'TOTESYS_PROCESSOR_FUNCTION_NAME', schema: s.processorFunctionName, description: 'the processor Lambda, for `status --aws` (--processor-function wins)' },
  { key: 'cloudwatchEndpoint', env: 'TOTESYS_CLOUDWATCH_ENDPOINT', schema: s.cloudwatchEndpoint, description: 'CloudWatch endpoint override (tests; --cloudwatch-endpoint wins)' },
  { key: 'sqsEndpoint', env: 'TOTESYS_SQS_ENDPOINT', schema: s.sqsEndpoint, description: 'SQS endpoint override (emulators; --sqs-endpoint wins)' },
];

export interface Config {
  stateDir: string;
  /** Absolute paths of local state, all under stateDir. */
  paths: { postgresData: string; streamLog: string; ingestionDir: string; processedDir: string; stateStoreDir: string; lockFile: string };
  sourceUrl?: string;
  warehouseUrl?: string;
  createSourceSchema: boolean;
  warehouseSchema: string;
  logLevel: Settings['logLevel'];
  capture: { slotName: string; publicationName: string; replicaIdentityFull: boolean; heartbeatIntervalMs: number };
  stream: { kind: 'local'; shards: number } | { kind: 'kinesis'; streamName: string; endpoint?: string; region: string };
  buckets:
    | { kind: 'local' }
    | { kind: 's3'; ingestionBucket: string; processedBucket: string; endpoint?: string; region: string };
  stateStore: { kind: 'local' } | { kind: 'dynamodb'; tableName: string; endpoint?: string; region: string };
  /** drainWindowMs 0: one pass per run; otherwise a run keeps loading for that long, polling every pollIntervalMs. */
  loader: { intervalMs: number; drainWindowMs: number; pollIntervalMs: number };
  archive: { flushIntervalMs: number; maxBytes: number };
  /** Input bounds on untrusted bytes (README "Input bounds", SECURITY.md). */
  bounds: { maxLineBytes: number; maxParquetRows: number; maxIssuesPerFile: number };
  /** `up`'s web dashboard and /metrics; a token is required unless it binds a loopback address. */
  dashboard: { host: string; port: number; token?: string };
  /**
   * The validated settings as environment variables (stateDir absolute), for a child process such
   * as the capture: it rebuilds exactly this config with loadConfig({}, env). Nothing writes them
   * back into process.env.
   */
  childEnv: Readonly<Record<string, string>>;
  /** Each database's secret as the deployment injects it (the URLs above are built from complete fields). */
  databaseFields: { source: DatabaseFields; warehouse: DatabaseFields & { sslmode?: string } };
  /** The capture process: its status file (undefined: <stateDir>/capture-status.json), metrics, and the `up` that started it. */
  captureProcess: { statusFile?: string; metrics: 'none' | 'emf'; parentPid?: number };
  /** AWS operations (`status --aws`, `redrive-dlq`); a command's flags win over these. */
  operations: { processorDlqUrl?: string; processorFunctionName?: string; cloudwatchEndpoint?: string; sqsEndpoint?: string };
}

export interface DatabaseFields {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  secretArn?: string;
}

type Source = Record<string, string | undefined>;

/**
 * Builds the config from CLI options (already parsed by commander, may be undefined) over
 * environment variables over defaults. Throws ConfigError naming the setting, its flag and its env.
 */
export function loadConfig(flags: Partial<Record<keyof RawSettings, unknown>> = {}, env: Source = process.env, cwd = process.cwd()): Readonly<Config> {
  const raw: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const fromFlag = flags[setting.key];
    const fromEnv = env[setting.env];
    const value = fromFlag !== undefined ? fromFlag : fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined;
    if (value !== undefined) raw[setting.key] = value;
  }
  const parsed = rawSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const messages = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      const setting = SETTINGS.find((x) => x.key === key);
      const where = setting ? (setting.flag ? `${setting.flag.split(' ')[0]} / ${setting.env}` : setting.env) : key;
      return `invalid ${key} (${where}): ${issue.message}`;
    });
    throw new ConfigError(messages.join('; '));
  }
  if (!isLoopbackHost(parsed.data.dashboardHost) && !parsed.data.dashboardToken) {
    throw new ConfigError(
      `invalid dashboardHost (--dashboard-host / TOTESYS_DASHBOARD_HOST): ${parsed.data.dashboardHost} is reachable from other machines; set a token in TOTESYS_DASHBOARD_TOKEN (16+ characters) or bind 127.0.0.1`,
    );
  }
  return buildConfig(parsed.data, cwd);
}

/** 127.0.0.0/8, ::1 and localhost: only this machine can connect. */
function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

function buildConfig(v: Settings, cwd: string): Readonly<Config> {
  const stateDir = path.resolve(cwd, v.stateDir);
  const source: DatabaseFields = { host: v.sourceHost, port: v.sourcePort, database: v.sourceDb, user: v.sourceUser, password: v.sourcePassword, secretArn: v.sourceSecretArn };
  const warehouse: DatabaseFields = { host: v.warehouseHost, port: v.warehousePort, database: v.warehouseDb, user: v.warehouseUser, password: v.warehousePassword, secretArn: v.warehouseSecretArn };
  const config: Config = {
    stateDir,
    paths: {
      postgresData: path.join(stateDir, 'postgres'),
      streamLog: path.join(stateDir, 'stream'),
      ingestionDir: path.join(stateDir, 'buckets', 'ingestion'),
      processedDir: path.join(stateDir, 'buckets', 'processed'),
      stateStoreDir: path.join(stateDir, 'processor-state'),
      lockFile: path.join(stateDir, 'up.lock'),
    },
    sourceUrl: v.sourceUrl ?? urlFromFields('TOTESYS_SOURCE', source),
    warehouseUrl: v.warehouseUrl ?? urlFromFields('TOTESYS_WAREHOUSE', warehouse),
    createSourceSchema: v.createSourceSchema,
    warehouseSchema: v.warehouseSchema,
    logLevel: v.logLevel,
    capture: {
      slotName: v.slotName,
      publicationName: v.publicationName,
      replicaIdentityFull: v.replicaIdentityFull,
      heartbeatIntervalMs: v.heartbeatIntervalMs,
    },
    stream:
      v.stream === 'local'
        ? { kind: 'local', shards: v.streamShards }
        : { kind: 'kinesis', streamName: v.kinesisStreamName, endpoint: v.kinesisEndpoint, region: v.awsRegion },
    buckets:
      v.buckets === 'local'
        ? { kind: 'local' }
        : { kind: 's3', ingestionBucket: v.ingestionBucket, processedBucket: v.processedBucket, endpoint: v.s3Endpoint, region: v.awsRegion },
    stateStore:
      v.stateStore === 'local' ? { kind: 'local' } : { kind: 'dynamodb', tableName: v.dynamodbTable, endpoint: v.dynamodbEndpoint, region: v.awsRegion },
    loader: { intervalMs: v.loaderIntervalMs, drainWindowMs: v.loaderDrainWindowMs, pollIntervalMs: v.loaderPollIntervalMs },
    archive: { flushIntervalMs: v.archiveFlushIntervalMs, maxBytes: v.archiveMaxBytes },
    bounds: { maxLineBytes: v.maxLineBytes, maxParquetRows: v.maxParquetRows, maxIssuesPerFile: v.maxIssuesPerFile },
    dashboard: { host: v.dashboardHost, port: v.dashboardPort, token: v.dashboardToken },
    childEnv: childEnvOf({ ...v, stateDir }),
    databaseFields: { source, warehouse: { ...warehouse, sslmode: v.warehouseSslmode } },
    captureProcess: { statusFile: v.captureStatusFile, metrics: v.metrics, parentPid: v.parentPid },
    operations: { processorDlqUrl: v.processorDlqUrl, processorFunctionName: v.processorFunctionName, cloudwatchEndpoint: v.cloudwatchEndpoint, sqsEndpoint: v.sqsEndpoint },
  };
  return deepFreeze(config);
}

/**
 * In AWS, ECS injects a database's secret as separate variables `<prefix>_HOST`, `_PORT`, `_DB`,
 * `_USER`, `_PASSWORD` (never a URL in the task definition): with no URL given, they make one. Not
 * with a secret ARN: that code (a Lambda) reads the secret itself. No sslmode in the URL:
 * node-postgres then honours PGSSLMODE (verify-full in the task definitions).
 */
function urlFromFields(prefix: string, fields: DatabaseFields): string | undefined {
  if (!fields.host || fields.secretArn) return undefined;
  const missing = [
    ['DB', fields.database],
    ['USER', fields.user],
    ['PASSWORD', fields.password],
  ].flatMap(([name, value]) => (value ? [] : [`${prefix}_${name}`]));
  if (missing.length) throw new ConfigError(`${prefix}_HOST is set but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not: set every field of the secret`);
  return postgresUrl({ host: fields.host, port: fields.port ?? 5432, database: fields.database!, user: fields.user!, password: fields.password! });
}

function childEnvOf(v: Settings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const setting of SETTINGS) {
    const value = v[setting.key];
    if (value !== undefined) env[setting.env] = String(value);
  }
  return env;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
