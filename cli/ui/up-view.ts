import type { PipelineCounters } from '../../runtime/pipeline-counters.js';
import type { CaptureStatus } from '../../capture/reporting/capture-status.js';
import { formatBytes, formatCount, formatDuration } from '../../platform/human-format.js';

export interface UpSnapshot {
  counters: PipelineCounters;
  capture: (CaptureStatus & { stale: boolean }) | null;
  /** Per-second rates since the previous frame. */
  rates: { changes: number; processed: number; loadedRows: number };
}

/** One frame of the `up` view: a line per stage, left to right along the pipeline. */
export function renderUpFrame(s: UpSnapshot): string[] {
  const { counters: c, capture } = s;
  const kinds = Object.entries(c.simulator.byKind)
    .map(([kind, n]) => `${kind.replace(/_/g, ' ')} ${n}`)
    .join(', ');
  const captureLine = !capture
    ? 'starting'
    : capture.phase === 'snapshot'
      ? `snapshot: ${formatCount(capture.snapshotRowsPublished)} rows published`
      : `${capture.stale ? 'not running' : capture.phase}, ${formatCount(capture.eventsPublished)} events (${capture.eventsPerSec.toFixed(1)}/s), slot lag ${formatBytes(capture.slotLagBytes)}, confirmed ${capture.lastConfirmedLsn ?? '-'}` +
        (capture.lastError ? `, last error: ${capture.lastError}` : '');
  const warehouse = Object.entries(c.loader.rowsByTable)
    .filter(([table]) => table.startsWith('fact_'))
    .map(([table, n]) => `${table.replace('fact_', '')} ${formatCount(n)}`)
    .join(', ');
  return [
    `source     ${s.rates.changes.toFixed(1)} changes/s, ${formatCount(c.simulator.changes)} simulated${kinds ? ` (${kinds})` : ''}`,
    `capture    ${captureLine}`,
    `processor  ${formatCount(c.processor.events)} events in ${formatCount(c.processor.batches)} batches (${s.rates.processed.toFixed(1)}/s), ${c.processor.quarantined} quarantined`,
    `archive    ${formatCount(c.archiver.records)} events in ${formatCount(c.archiver.objects)} objects`,
    `warehouse  ${formatCount(c.loader.rows)} rows in ${formatCount(c.loader.manifests)} batches (${s.rates.loadedRows.toFixed(1)} rows/s)${warehouse ? `; fact versions: ${warehouse}` : ''}`,
    `freshness  newest change reached the warehouse ${formatDuration(c.loader.lastLatencyMs)} after its commit; complete up to ${formatDuration(c.loader.watermarkAgeMs)} ago (watermark)` +
      (c.loader.failures ? `; ${c.loader.failures} batch(es) FAILED: ${c.loader.lastError ?? ''}` : ''),
  ];
}

/** Redraws a block of lines in place on a terminal; elsewhere prints a compact line now and then. */
export class LiveBlock {
  private drawn = 0;
  private lastPlain = 0;
  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  draw(lines: string[]): void {
    if (this.out.isTTY) {
      const width = this.out.columns || 120;
      let text = this.drawn ? `\x1b[${this.drawn}F` : '';
      for (const line of lines) text += `\x1b[2K${line.length > width ? line.slice(0, width - 1) + '…' : line}\n`;
      this.out.write(text);
      this.drawn = lines.length;
    } else if (Date.now() - this.lastPlain >= 5_000) {
      this.lastPlain = Date.now();
      this.out.write(lines.map((l) => l.replace(/\s+/g, ' ')).join(' | ') + '\n');
    }
  }
}
