import type { ChangeStreamWriter, StreamRecord } from '../../stream/change-stream.js';

/** A change stream slow to make records durable: puts wait at the gate while it is shut, and land in order once it opens. */
export class GatedWriter implements ChangeStreamWriter {
  readonly records: StreamRecord[] = [];
  /** Calls to put, including those still waiting at the gate. */
  puts = 0;
  private open: boolean;
  private waiting: (() => void)[] = [];

  /** `shut: true` starts with the gate shut: a stream that has stopped accepting. */
  constructor(options: { shut?: boolean } = {}) {
    this.open = !options.shut;
  }

  async put(records: readonly StreamRecord[]): Promise<void> {
    this.puts++;
    if (!this.open) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.records.push(...records);
  }

  async close(): Promise<void> {}

  shut(): void {
    this.open = false;
  }

  release(): void {
    this.open = true;
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  /** The change-event ids of the accepted records, in order. */
  ids(): string[] {
    return this.records.map((r) => JSON.parse(Buffer.from(r.data).toString('utf8')).id as string);
  }
}
