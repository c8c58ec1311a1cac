import { z } from 'zod';
import { WarehouseSecretError } from '../loader-errors.js';

/**
 * The RDS-managed secret format: JSON {host, port, username, password, dbname}. Turned into a
 * connection URL with every part percent-encoded (passwords contain `@`, `/`, `:`).
 */
const rdsSecret = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().positive().default(5432),
  username: z.string().min(1),
  password: z.string().min(1),
  dbname: z.string().min(1).default('postgres'),
});

export function warehouseUrlFromSecret(secretArn: string, secretString: string | undefined, options: { sslmode?: string } = {}): string {
  if (!secretString) throw new WarehouseSecretError(secretArn, 'has no SecretString');
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    // never include the secret text in the error
    throw new WarehouseSecretError(secretArn, 'is not JSON');
  }
  const parsed = rdsSecret.safeParse(json);
  if (!parsed.success) {
    throw new WarehouseSecretError(secretArn, `missing or bad field(s): ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')} (expected host, port, username, password, dbname)`);
  }
  const s = parsed.data;
  const url = new URL(`postgres://${s.host}:${s.port}/${encodeURIComponent(s.dbname)}`);
  url.username = encodeURIComponent(s.username);
  url.password = encodeURIComponent(s.password);
  if (options.sslmode) url.searchParams.set('sslmode', options.sslmode);
  return url.toString();
}
