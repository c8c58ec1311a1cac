/**
 * In AWS, ECS injects each database's secret as separate variables `<prefix>_HOST`, `_PORT`, `_DB`,
 * `_USER`, `_PASSWORD` (never a URL in the task definition). Builds the connection URL from them, or
 * returns undefined when `<prefix>_HOST` is not set. No sslmode in the URL: node-postgres then
 * honours PGSSLMODE (verify-full in the task definitions). Same rules as capture/source-url-from-env.ts.
 */
export class DatabaseEnvError extends Error {
  readonly retryable = false;
}

export function databaseUrlFromEnv(prefix: string, env: Record<string, string | undefined>): string | undefined {
  const host = env[`${prefix}_HOST`];
  if (!host) return undefined;
  const missing = ['DB', 'USER', 'PASSWORD'].map((f) => `${prefix}_${f}`).filter((name) => !env[name]);
  if (missing.length) throw new DatabaseEnvError(`${prefix}_HOST is set but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not: set every field of the secret`);
  const port = env[`${prefix}_PORT`] || '5432';
  if (!/^\d{1,5}$/.test(port)) throw new DatabaseEnvError(`${prefix}_PORT must be a port number, got ${JSON.stringify(port)}`);
  const url = new URL(`postgresql://host:${port}/`);
  url.hostname = host;
  url.pathname = `/${encodeURIComponent(env[`${prefix}_DB`]!)}`;
  url.username = encodeURIComponent(env[`${prefix}_USER`]!);
  url.password = encodeURIComponent(env[`${prefix}_PASSWORD`]!);
  return url.toString();
}

/** Sets TOTESYS_SOURCE_URL and TOTESYS_WAREHOUSE_URL from the injected fields unless already set. */
export function databaseUrlsFromFields(env: Record<string, string | undefined>): void {
  for (const prefix of ['TOTESYS_SOURCE', 'TOTESYS_WAREHOUSE']) {
    const target = `${prefix}_URL`;
    if (env[target]) continue;
    const url = databaseUrlFromEnv(prefix, env);
    if (url) env[target] = url;
  }
}
