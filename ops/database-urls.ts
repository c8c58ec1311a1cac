import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { sourceUrlFromEnv } from '../capture/source-url-from-env.js';
import { warehouseUrlFromSecret } from '../loader/lambda/warehouse-secret.js';
import type { Config } from '../platform/config.js';

/**
 * Where the operations commands (doctor, status --aws) find the databases without any local state:
 * the URL flags / variables first; else, as in the ECS task, the source secret's fields injected by
 * ECS (TOTESYS_SOURCE_HOST, ...; capture/source-url-from-env.ts) and the warehouse RDS secret by ARN
 * (TOTESYS_WAREHOUSE_SECRET_ARN, the loader's variable) or its fields as ECS injects them
 * (TOTESYS_WAREHOUSE_HOST / _PORT / _DB / _USER / _PASSWORD). No sslmode in those URLs: node-postgres
 * then honours PGSSLMODE (verify-full in the task definition). Undefined when none is configured: the
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

export async function resolveExternalUrls(config: Config, env: Record<string, string | undefined>, getSecret: GetSecretString): Promise<ExternalUrls> {
  const sourceUrl = config.sourceUrl ?? sourceUrlFromEnv(env);
  let warehouseUrl = config.warehouseUrl;
  // The ECS operations task: the warehouse secret's fields injected by ECS, as for the source.
  if (!warehouseUrl && env.TOTESYS_WAREHOUSE_USER && env.TOTESYS_WAREHOUSE_PASSWORD) {
    warehouseUrl = warehouseUrlFromSecret('(TOTESYS_WAREHOUSE_* variables)', JSON.stringify({ username: env.TOTESYS_WAREHOUSE_USER, password: env.TOTESYS_WAREHOUSE_PASSWORD }), { env });
  }
  const secretArn = env.TOTESYS_WAREHOUSE_SECRET_ARN;
  if (!warehouseUrl && secretArn) warehouseUrl = warehouseUrlFromSecret(secretArn, await getSecret(secretArn), { sslmode: env.TOTESYS_WAREHOUSE_SSLMODE, env });
  return { sourceUrl, warehouseUrl };
}
