import { postgresUrl } from '../../platform/postgres-url.js';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Config, type DatabaseFields, loadConfig } from '../../platform/config.js';
import { ConfigError, errorMessage } from '../../platform/errors.js';
import { createLogger, type Logger } from '../../platform/logger.js';
import { createPostgresClient } from '../../platform/postgres-client.js';
import { measureSlot } from '../slot-monitor.js';

/**
 * Scheduled Lambda (every minute, in the VPC): reads the source secret, connects, measures the
 * replication slot and prints one EMF line (slotLagBytes, dimension SlotName). Its settings come
 * from the config (platform/config.ts), read once, at the first invocation:
 *   TOTESYS_SOURCE_SECRET_ARN   secret with username and password (and host, port, dbname unless below)
 *   TOTESYS_SOURCE_HOST/PORT/DB the endpoint when the secret does not carry it (RDS-managed master secrets)
 *   TOTESYS_SLOT_NAME           default totesys_cdc
 *   TOTESYS_PUBLICATION_NAME    default totesys_cdc (its snapshot marker says whether the slot was had: a lost slot)
 *   PGSSLMODE                   TLS mode node-postgres applies (verify-full in the stack)
 * A bad or missing setting, or a failure to connect or query, throws (a Lambda error, counted by its
 * Errors metric) and prints no metric, so the slot-lag alarm, which treats missing data as breaching,
 * fires.
 */
export interface SlotMonitorResult {
  slotName: string;
  exists: boolean;
  active: boolean;
  lagBytes: number | null;
  walStatus: string | null;
  /** The slot the capture had is invalidated or missing (docs/capture-spec.md K1). */
  lost: 'invalidated' | 'missing' | null;
}

export interface SlotMonitorDeps {
  readSecret(secretArn: string): Promise<string>;
  /** Where the EMF line goes (stdout in Lambda, where CloudWatch extracts it). */
  writeMetric?: (line: string) => void;
  logger?: Logger;
  /** The configuration (default: loadConfig() of the Lambda's environment, at the first invocation). */
  config?: Readonly<Config>;
  now?: () => number;
}

/** Where the source is when the secret does not say (an RDS-managed master secret has no host): config.databaseFields.source. */
export type SourceEndpoint = Pick<DatabaseFields, 'host' | 'port' | 'database'>;

/** Connection URL from the secret's JSON and the configured endpoint (the endpoint wins: an RDS-managed secret has no host). */
export function sourceUrlFromSecret(secretString: string, endpoint: SourceEndpoint): string {
  let secret: Record<string, unknown>;
  try {
    secret = JSON.parse(secretString) as Record<string, unknown>;
  } catch {
    throw new ConfigError('the source secret is not JSON: expected {"username": ..., "password": ...} (RDS format)');
  }
  const field = (name: string) => (secret[name] === undefined || secret[name] === null ? undefined : String(secret[name]));
  const host = endpoint.host || field('host');
  const port = endpoint.port === undefined ? field('port') || '5432' : String(endpoint.port);
  const database = endpoint.database || field('dbname');
  const username = field('username');
  const password = field('password');
  const missing = Object.entries({ host, database, username, password }).filter(([, v]) => !v).map(([k]) => k);
  if (missing.length) throw new ConfigError(`source connection incomplete: ${missing.join(', ')} missing from the secret and from TOTESYS_SOURCE_HOST/DB`);
  if (!/^\d{1,5}$/.test(port)) throw new ConfigError(`source port must be a number, got ${JSON.stringify(port)}`);
  return postgresUrl({ host: host!, port, database: database!, user: username!, password: password! });
}

/** What one invocation needs from the config. */
interface MonitorSettings {
  secretArn: string;
  endpoint: SourceEndpoint;
  slotName: string;
  publicationName: string;
  logger: Logger;
}

function monitorSettings(config: Readonly<Config>, logger: Logger | undefined): MonitorSettings {
  const { secretArn, host, port, database } = config.databaseFields.source;
  if (!secretArn) throw new ConfigError('TOTESYS_SOURCE_SECRET_ARN is not set: set it to the ARN of the source secret');
  return {
    secretArn,
    endpoint: { host, port, database },
    slotName: config.capture.slotName,
    publicationName: config.capture.publicationName,
    logger: logger ?? createLogger({ service: 'slot-monitor', level: config.logLevel }),
  };
}

export function createSlotMonitorHandler(deps: SlotMonitorDeps): () => Promise<SlotMonitorResult> {
  const writeMetric = deps.writeMetric ?? ((line: string) => process.stdout.write(`${line}\n`));
  let settings: MonitorSettings | undefined;
  return async () => {
    // The config once per container; a bad setting fails this invocation with its name (importing the module never throws).
    settings ??= monitorSettings(deps.config ?? loadConfig(), deps.logger);
    const { secretArn, endpoint, slotName, publicationName, logger } = settings;
    // The secret every time (once a minute): a rotated password is picked up on the next run.
    const url = sourceUrlFromSecret(await deps.readSecret(secretArn), endpoint);
    // One connection per invocation, ended in finally; the timeouts keep a stalled source from holding the Lambda to its limit.
    const client = createPostgresClient({ url, applicationName: 'totesys-cdc-slot-monitor', logger, connectionTimeoutMs: 10_000, queryTimeoutMs: 10_000 });
    try {
      await client.connect();
      const { status, emfLine, lostEmfLine } = await measureSlot(client, slotName, (deps.now ?? Date.now)(), publicationName);
      if (emfLine) writeMetric(emfLine);
      else logger.error('replication slot cannot be measured: the slot-lag alarm sees missing data', { slotName, exists: status.exists, walStatus: status.walStatus });
      if (lostEmfLine) writeMetric(lostEmfLine);
      if (status.lost) {
        logger.error('replication slot lost: the capture re-reads every table and reconciles the warehouse when it next prepares its slot (docs/capture-spec.md, lost slot)', { slotName, reason: status.lost, event: 'slot-lost' });
      }
      return { slotName, exists: status.exists, active: status.active, lagBytes: status.lagBytes, walStatus: status.walStatus, lost: status.lost ?? null };
    } catch (error) {
      logger.error('slot monitor failed', { slotName, error: errorMessage(error) });
      throw error;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
}

const secrets = new SecretsManagerClient({});

export const handler = createSlotMonitorHandler({
  async readSecret(secretArn) {
    const result = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
    if (!result.SecretString) throw new ConfigError(`secret ${secretArn} has no string value`);
    return result.SecretString;
  },
});
