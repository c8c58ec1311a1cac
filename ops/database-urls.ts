import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { warehouseUrlFromSecret } from '../loader/lambda/warehouse-secret.js';
import type { Config } from '../platform/config.js';

/**
 * Where the operations commands (doctor, status --aws) find the databases without any local state:
 * the URL flags / variables first, or the URLs the config built from the secrets' fields ECS injects
 * (TOTESYS_SOURCE_HOST, ..., TOTESYS_WAREHOUSE_PASSWORD; platform/config.ts); else the warehouse RDS
 * secret by ARN (TOTESYS_WAREHOUSE_SECRET_ARN, the loader's variable). No sslmode in the field-built
 * URLs: node-postgres then honours PGSSLMODE (verify-full in the task definition). Undefined when none is configured: the
 * caller then falls back to the embedded databases (local use).
 */
export interface ExternalUrls {
  sourceUrl?: string;
  warehouseUrl?: string;
}

export type GetSecretString = (secretArn: string) => Promise<string | undefined>;

export const secretsManagerGetSecret =
  (options: { region?: string; endpoint?: string } = {}): GetSecretString =>
  async (secretArn) => {
    // region: AWS_REGION (set in every ECS task and Lambda) unless given.
    const client = new SecretsManagerClient({ ...(options.region ? { region: options.region } : {}), ...(options.endpoint ? { endpoint: options.endpoint } : {}) });
    try {
      return (await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
    } finally {
      client.destroy();
    }
  };

export async function resolveExternalUrls(config: Config, getSecret: GetSecretString): Promise<ExternalUrls> {
  let warehouseUrl = config.warehouseUrl;
  const { secretArn, sslmode, ...endpoint } = config.databaseFields.warehouse;
  if (!warehouseUrl && secretArn) warehouseUrl = warehouseUrlFromSecret(secretArn, await getSecret(secretArn), { sslmode, endpoint });
  return { sourceUrl: config.sourceUrl, warehouseUrl };
}
