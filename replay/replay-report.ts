/**
 * Problems found while reading the archive. Replay never stops on bad input: each problem is
 * recorded with its object key and 1-based line number and the run ends `partial`. Only the first
 * `maxIssues` are kept verbatim (bounded memory on a badly damaged archive); counts are exact.
 */
export type ArchiveIssueKind =
  | 'corrupt-gzip'
  | 'line-too-long'
  | 'truncated-line'
  | 'malformed-json'
  | 'unsupported-version'
  | 'unknown-table'
  | 'invalid-event'
  | 'unexpected-key'
  | 'unreadable-object';

export interface ArchiveIssue {
  kind: ArchiveIssueKind;
  /** Object key in the ingestion bucket. */
  file: string;
  /** 1-based line number inside the decompressed object, when the problem is a line. */
  line?: number;
  message: string;
  eventId?: string;
}

export class IssueLog {
  readonly issues: ArchiveIssue[] = [];
  readonly counts: Partial<Record<ArchiveIssueKind, number>> = {};
  total = 0;

  constructor(private readonly maxIssues = 1000) {}

  add(issue: ArchiveIssue): void {
    this.total++;
    this.counts[issue.kind] = (this.counts[issue.kind] ?? 0) + 1;
    if (this.issues.length < this.maxIssues) this.issues.push(issue);
  }

  /** Counts `n` issues of `kind` that are not kept verbatim (another log kept its first ones). */
  count(kind: ArchiveIssueKind, n: number): void {
    this.total += n;
    this.counts[kind] = (this.counts[kind] ?? 0) + n;
  }

  get truncated(): boolean {
    return this.total > this.issues.length;
  }
}
