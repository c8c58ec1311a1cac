import { z } from 'zod';
import { isSourceTable } from '../source-tables.js';
import { CHANGE_EVENT_VERSION, InvalidChangeEventError, type ChangeEvent } from './event.js';
import { isChangeEventFast } from './fast-path.js';

/**
 * The strict check of the change-event contract: the definition every other reader is held to
 * (fast-path.ts never accepts what this rejects, and returns what this returns: see
 * test/unit/change-event-codec.test.ts). Unknown members are dropped (zod's default): the result
 * holds the contract's members only.
 */
const rowValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const row = z.record(z.string(), rowValue);

const changeEventSchema = z
  .object({
    v: z.literal(CHANGE_EVENT_VERSION),
    id: z.string().min(1),
    op: z.enum(['c', 'u', 'd', 'r']),
    table: z.string().refine(isSourceTable, { message: 'unknown table' }),
    key: row,
    before: row.nullable(),
    after: row.nullable(),
    source: z.object({
      lsn: z.string(),
      commitLsn: z.string(),
      xid: z.number().int().nullable(),
      commitTs: z.string(),
      snapshot: z.boolean(),
    }),
  })
  .refine((e) => (e.op === 'd' ? e.before !== null : e.after !== null), {
    message: 'deletes need `before`, every other op needs `after`',
  });

/** Validates an already-parsed value against the contract; throws InvalidChangeEventError. */
export function validateChangeEvent(value: unknown): ChangeEvent {
  const result = changeEventSchema.safeParse(value);
  if (!result.success) {
    const id = typeof (value as { id?: unknown })?.id === 'string' ? (value as { id: string }).id : undefined;
    const issue = result.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new InvalidChangeEventError(`invalid change event${where}: ${issue?.message ?? 'unknown'}`, id);
  }
  return result.data as ChangeEvent;
}

/**
 * The fast path of validation: the value itself when the fast check (fast-path.ts) accepts it, else
 * the strict check's result or its InvalidChangeEventError. Same outcome as validateChangeEvent, at
 * a fraction of its cost for what capture writes.
 */
export function validateChangeEventFast(value: unknown): ChangeEvent {
  return isChangeEventFast(value) ? value : validateChangeEvent(value);
}

/**
 * Parses one JSON text (a stream record or an NDJSON line) into a validated event: the strict
 * check's outcome, through the fast path (the stream processor parses every event with this; zod
 * was a third of its decoding time).
 */
export function parseChangeEvent(text: string): ChangeEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new InvalidChangeEventError(`malformed JSON: ${(cause as Error).message}`, undefined, { cause });
  }
  return validateChangeEventFast(value);
}
