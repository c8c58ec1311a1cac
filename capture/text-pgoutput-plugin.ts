import { PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';

const keepText = (raw: unknown) => raw;

/**
 * pgoutput with every value kept as the text Postgres sent. The library attaches node-postgres type
 * parsers to each relation column (numeric → float, timestamp → Date in local time): wrong for the
 * event contract. Relation messages are parsed synchronously on arrival, before any later tuple of
 * that relation, so swapping the parsers here covers every tuple.
 *
 * It also counts XLogData messages as they arrive: with flow control the library queues parsed
 * messages, and a keepalive may overtake queued data. Comparing this count with the number of
 * handled messages tells whether everything received before a keepalive has been handled.
 */
export class TextPgoutputPlugin extends PgoutputPlugin {
  receivedCount = 0;

  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer);
    this.receivedCount++;
    if (message.tag === 'relation') for (const column of message.columns) column.parser = keepText;
    return message;
  }
}
