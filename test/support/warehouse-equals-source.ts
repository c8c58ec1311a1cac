import { FACTS } from '../../contracts/warehouse-model.js';
import {
  COMPARED_DIMENSIONS, diffRowSets, expectedCurrentFacts, expectedDimensions, warehouseCurrentFacts, warehouseDimensions,
} from './expected-star-schema.js';
import { withClient } from './postgres.js';

export type WarehouseDifferences = Record<string, ReturnType<typeof diffRowSets>>;

/**
 * The live dimension rows and current facts of the warehouse against the same star schema computed
 * by independent SQL on the source (./expected-star-schema.ts); only the tables that differ are
 * returned, so `{}` means equal.
 */
export async function warehouseDifferences(sourceUrl: string, warehouseUrl: string, schema = 'star'): Promise<WarehouseDifferences> {
  return withClient(sourceUrl, (src) =>
    withClient(warehouseUrl, async (wh) => {
      const out: WarehouseDifferences = {};
      const [wantDims, haveDims] = [await expectedDimensions(src), await warehouseDimensions(wh, schema)];
      for (const dim of COMPARED_DIMENSIONS) {
        const diff = diffRowSets(wantDims[dim], haveDims[dim]);
        if (diff.missing.length || diff.unexpected.length) out[dim] = diff;
      }
      const [wantFacts, haveFacts] = [await expectedCurrentFacts(src), await warehouseCurrentFacts(wh, schema)];
      for (const fact of FACTS) {
        const diff = diffRowSets(wantFacts[fact], haveFacts[fact]);
        if (diff.missing.length || diff.unexpected.length) out[`${fact}_current`] = diff;
      }
      return out;
    }),
  );
}

/** Polls until the warehouse equals the source or the time is up; resolves to the last differences. */
export async function waitForWarehouseToEqualSource(sourceUrl: string, warehouseUrl: string, timeoutMs: number, schema = 'star'): Promise<WarehouseDifferences> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const diff = await warehouseDifferences(sourceUrl, warehouseUrl, schema).catch((error: Error) => ({ error: { expected: 0, actual: 0, missing: [error.message], unexpected: [] } }));
    if (Object.keys(diff).length === 0 || Date.now() > deadline) return diff;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
