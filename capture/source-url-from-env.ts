import { ConfigError } from '../platform/errors.js';

/**
 * In AWS the task receives the source secret's fields (RDS secret JSON: host, port, dbname,
 * username, password) as separate variables injected by ECS, never a URL in plain task config.
 * Builds the connection URL from them when TOTESYS_SOURCE_URL is not set. No sslmode in the URL:
 * node-postgres then honours PGSSLMODE (verify-full in the task definition).
 */
export function sourceUrlFromEnv(env: Record<string, string | undefined>): string | undefined {
  if (env.TOTESYS_SOURCE_URL) return env.TOTESYS_SOURCE_URL;
  if (!env.TOTESYS_SOURCE_HOST) return undefined;
  const missing = ['TOTESYS_SOURCE_DB', 'TOTESYS_SOURCE_USER', 'TOTESYS_SOURCE_PASSWORD'].filter((name) => !env[name]);
  if (missing.length) throw new ConfigError(`TOTESYS_SOURCE_HOST is set but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not: set every field of the source secret`);
  const port = env.TOTESYS_SOURCE_PORT || '5432';
  if (!/^\d{1,5}$/.test(port)) throw new ConfigError(`TOTESYS_SOURCE_PORT must be a port number, got ${JSON.stringify(port)}`);
  const url = new URL(`postgresql://host:${port}/`);
  url.hostname = env.TOTESYS_SOURCE_HOST;
  url.pathname = `/${encodeURIComponent(env.TOTESYS_SOURCE_DB!)}`;
  url.username = encodeURIComponent(env.TOTESYS_SOURCE_USER!);
  url.password = encodeURIComponent(env.TOTESYS_SOURCE_PASSWORD!);
  return url.toString();
}
