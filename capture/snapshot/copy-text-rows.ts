/**
 * Rows of `COPY … TO STDOUT` in PostgreSQL's text format, parsed from the bytes as they arrive:
 * one row per line, fields separated by tabs, `\N` a NULL, and in a value the backslash escapes
 * `\\ \b \f \n \r \t \v` (COPY TO writes no others: any other escape is an error). A line never
 * holds a raw newline or tab of its data, so rows split on bytes alone, and a chunk may end
 * anywhere: the unfinished row waits for the next chunk.
 */
const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;
const CAPITAL_N = 0x4e;

export class CopyTextRowParser {
  private rest: Buffer | null = null;

  constructor(private readonly columns: number) {}

  /**
   * The rows that `chunk` completes, each its fields' texts (null for NULL), in order. The complete
   * lines are decoded as one string and cut at tabs and newlines, rather than each field decoded on
   * its own: one native call per chunk instead of one per field (bench:snapshot). The bytes cut on
   * are ASCII, which never occurs inside a multi-byte UTF-8 sequence, so both give the same texts.
   */
  push(chunk: Buffer): (string | null)[][] {
    const bytes = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = null;
    const last = bytes.lastIndexOf(NEWLINE);
    if (last < bytes.length - 1) this.rest = bytes.subarray(last + 1);
    if (last < 0) return [];
    const text = bytes.toString('utf8', 0, last + 1);
    const rows: (string | null)[][] = [];
    let start = 0;
    for (let end = text.indexOf('\n', start); end >= 0; end = text.indexOf('\n', start)) {
      rows.push(this.row(text, start, end));
      start = end + 1;
    }
    return rows;
  }

  /** The data has ended: throws when it ended inside a row. */
  end(): void {
    if (this.rest) throw new Error(`COPY data ended inside a row (${this.rest.length} bytes without a newline)`);
  }

  private row(text: string, start: number, end: number): (string | null)[] {
    const fields: (string | null)[] = new Array(this.columns);
    let field = 0;
    let from = start;
    for (;;) {
      let to = text.indexOf('\t', from);
      if (to < 0 || to > end) to = end;
      if (field === this.columns) throw new Error(`COPY row has more than the ${this.columns} columns expected`);
      fields[field++] = fieldText(text, from, to);
      if (to === end) break;
      from = to + 1;
    }
    if (field !== this.columns) throw new Error(`COPY row has ${field} columns, ${this.columns} expected`);
    return fields;
  }
}

function fieldText(line: string, from: number, to: number): string | null {
  if (to - from === 2 && line.charCodeAt(from) === BACKSLASH && line.charCodeAt(from + 1) === CAPITAL_N) return null;
  const text = line.slice(from, to);
  return text.includes('\\') ? unescapeCopyText(text) : text;
}

const ESCAPES: Record<string, string> = { '\\': '\\', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** A text-format value with its backslash escapes resolved. */
export function unescapeCopyText(text: string): string {
  let out = '';
  let i = 0;
  for (let slash = text.indexOf('\\'); slash >= 0; slash = text.indexOf('\\', i)) {
    const escaped = ESCAPES[text[slash + 1] ?? ''];
    // COPY TO writes only these; anything else means the bytes are not what this parser reads.
    if (escaped === undefined) throw new Error(`unexpected escape in COPY text: ${JSON.stringify(text.slice(slash, slash + 2))}`);
    out += text.slice(i, slash) + escaped;
    i = slash + 2;
  }
  return out + text.slice(i);
}
