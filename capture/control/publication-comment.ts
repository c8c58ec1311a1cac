import pg from 'pg';
import { inTransaction } from '../../platform/in-transaction.js';

/**
 * The publication's COMMENT is the capture's one piece of durable state in the source (it survives
 * restarts, container replacement, restore and failover, and goes with the publication on
 * teardown). It holds lines, each owned by one writer:
 *   line 1      the snapshot marker (replication-setup.ts), `totesys-cdc snapshot ...`;
 *   later lines one per `resnapshot --table` job (resnapshot-jobs.ts), `totesys-cdc resnapshot {...}`.
 * Every write is a read-modify-write of the whole comment, so writers (the capture's slot
 * preparation, its resnapshot jobs, the `resnapshot` CLI) serialise on a transaction-level
 * advisory lock keyed by the publication: none loses another's line.
 */
type Queryable = Pick<pg.Client, 'query' | 'escapeIdentifier'>;

/** Advisory lock class of the comment's writers (the key is hashtext(publication name)). */
const COMMENT_LOCK_CLASS = 0x7c0e;

export interface CommentLines {
  /** The first line (the snapshot marker), '' when there is none. */
  marker: string;
  /** Every later non-empty line, in order. */
  rest: string[];
}

export function parseCommentLines(comment: string | null): CommentLines {
  const lines = (comment ?? '').split('\n');
  return { marker: lines[0] ?? '', rest: lines.slice(1).filter((line) => line.length > 0) };
}

export async function readPublicationComment(client: Queryable, publicationName: string): Promise<CommentLines | null> {
  const { rows } = await client.query<{ comment: string | null }>(`SELECT obj_description(oid, 'pg_publication') AS comment FROM pg_publication WHERE pubname = $1`, [publicationName]);
  return rows.length ? parseCommentLines(rows[0].comment) : null;
}

/**
 * Rewrites the comment with `edit` under the writers' lock, in one transaction; false when the
 * publication does not exist (nothing written). Not for a client with a transaction open.
 */
export async function editPublicationComment(client: Queryable, publicationName: string, edit: (lines: CommentLines) => CommentLines): Promise<boolean> {
  return inTransaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [COMMENT_LOCK_CLASS, publicationName]);
    const current = await readPublicationComment(client, publicationName);
    if (!current) return false;
    const next = edit(current);
    const text = [next.marker, ...next.rest].join('\n');
    // COMMENT takes a literal, not a parameter: escapeLiteral quotes the whole text.
    await client.query(`COMMENT ON PUBLICATION ${client.escapeIdentifier(publicationName)} IS ${pg.escapeLiteral(text)}`);
    return true;
  });
}
