import pg from 'pg';
import { parseLsn, type Lsn } from '../../contracts/lsn.js';
import { querySlotStatus, type SlotStatus } from './slot-status.js';

/**
 * A plain (non-replication) connection to the source for the heartbeat and slot readings, beside
 * the replication stream. Connects lazily and again after any failure: a Postgres restart costs
 * one failed reading, never a stuck connection.
 */
export class ControlConnection {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;

  constructor(private readonly url: string) {}

  query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.run((client) => client.query<R>(text, values));
  }

  slotStatus(slotName: string): Promise<SlotStatus> {
    return this.run((client) => querySlotStatus(client, slotName));
  }

  async slotConfirmedFlush(slotName: string): Promise<Lsn> {
    const { rows } = await this.query<{ lsn: string | null }>('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [slotName]);
    return rows[0]?.lsn ? parseLsn(rows[0].lsn) : 0n;
  }

  async slotActivePid(slotName: string): Promise<number | null> {
    const { rows } = await this.query<{ active_pid: number | null }>('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [slotName]);
    return rows[0]?.active_pid ?? null;
  }

  async close(): Promise<void> {
    const client = this.client ?? (await this.connecting?.catch(() => null));
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async run<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = await this.get();
    try {
      return await fn(client);
    } catch (error) {
      if (this.client === client) this.client = null;
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  private get(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url, application_name: 'totesys-cdc-capture-control', connectionTimeoutMillis: 5_000, query_timeout: 10_000 });
      client.on('error', () => {
        if (this.client === client) this.client = null;
      });
      try {
        await client.connect();
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      } finally {
        this.connecting = null;
      }
      this.client = client;
      return client;
    })();
    return this.connecting;
  }
}
