import fs from 'node:fs';
import type { ChangeStreamWriter, StreamRecord } from '../../stream/change-stream.js';

/**
 * Appends one JSON line per record and fsyncs before put resolves: the port's durability contract
 * across kill -9, for the capture child in tests (no vitest imports: it runs outside vitest).
 */
export class NdjsonFileWriter implements ChangeStreamWriter {
  private readonly fd: number;

  constructor(readonly file: string) {
    // A kill -9 can leave a torn, never-acknowledged last line: cut it so the next line stays whole.
    if (fs.existsSync(file)) {
      const text = fs.readFileSync(file);
      const end = text.lastIndexOf(0x0a) + 1;
      if (end < text.length) fs.truncateSync(file, end);
    }
    this.fd = fs.openSync(file, 'a');
  }

  async put(records: readonly StreamRecord[]): Promise<void> {
    const text = records.map((r) => Buffer.from(r.data).toString('utf8') + '\n').join('');
    await new Promise<void>((resolve, reject) => fs.write(this.fd, text, (e) => (e ? reject(e) : resolve())));
    await new Promise<void>((resolve, reject) => fs.fsync(this.fd, (e) => (e ? reject(e) : resolve())));
  }

  async close(): Promise<void> {
    fs.closeSync(this.fd);
  }
}

