import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../platform/logger.js';
import type { WarehouseTable } from '../../contracts/warehouse-model.js';
import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { BatchRows } from '../../stream-processors/batch-rows.js';
import { rowsForEvent } from './event-rows-list.js';
import { LocalJoinStateStore } from '../../stream-processors/state/local-join-state-store.js';
import { generateWorkload } from './archive-workload.js';

export interface TableBatch {
  table: WarehouseTable;
  rows: WarehouseRow[];
}

/**
 * The per-table row sets the processor would hand to encodeWarehouseParquet for `events` realistic
 * change events cut into batches of `eventsPerBatch`: generateWorkload through the real transforms
 * (rowsForEvent with a LocalJoinStateStore in a temp dir) and BatchRows, as processEvents does.
 */
export async function realisticTableBatches(events: number, eventsPerBatch = 20_000, seed = 7): Promise<TableBatch[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warehouse-batches-'));
  try {
    const state = await LocalJoinStateStore.open(dir, silentLogger);
    const workload = generateWorkload(events, { seed });
    const out: TableBatch[] = [];
    for (let start = 0; start < workload.length; start += eventsPerBatch) {
      const rows = new BatchRows();
      for (const { event } of workload.slice(start, start + eventsPerBatch)) {
        for (const emitted of await rowsForEvent(event, { state, logger: silentLogger })) rows.add(emitted);
      }
      await state.flush();
      out.push(...rows.tables());
    }
    await state.close();
    return out;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
