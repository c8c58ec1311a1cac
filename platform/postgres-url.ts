/**
 * A connection URL from a database's separate fields (an RDS secret, ECS-injected variables):
 * each part percent-encoded, so a password with `@`, `/` or `%` survives. sslmode is left out
 * unless given: node-postgres then honours PGSSLMODE.
 */
export function postgresUrl(fields: { host: string; port: number | string; database: string; user: string; password: string; sslmode?: string }): string {
  const url = new URL(`postgresql://host:${fields.port}/`);
  url.hostname = fields.host;
  url.pathname = `/${encodeURIComponent(fields.database)}`;
  url.username = encodeURIComponent(fields.user);
  url.password = encodeURIComponent(fields.password);
  if (fields.sslmode) url.searchParams.set('sslmode', fields.sslmode);
  return url.toString();
}
