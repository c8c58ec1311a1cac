import type { z } from 'zod';

/**
 * Parses one JSON record of the stream that is not a change event (a watermark, a reconcile) and
 * checks it against its schema; any failure is thrown as `fail(message)`, the record kind's own
 * error (its category decides whether it is quarantined).
 */
export function parseJsonRecord<T>(data: Uint8Array | string, schema: z.ZodType<T>, what: string, fail: (message: string) => Error): T {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw fail(`malformed ${what} JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(`invalid ${what}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}
