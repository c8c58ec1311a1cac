import { describe, expect, it } from 'vitest';
import { SchemaSwapError, swapSchemaNames, swapSchemas } from '../../loader/schema-swap.js';
import { loadConfig } from '../../platform/config.js';

const STAMP = '20261122_120000';

describe('generated schema names (issue 17 point 4)', () => {
  it('a 63-character warehouse schema (accepted by the config) gets rebuild and old names that fit and differ from it', () => {
    const live = 'w'.repeat(63);
    expect(loadConfig({ warehouseSchema: live }, {}).warehouseSchema).toBe(live);
    const { rebuildSchema, oldSchema } = swapSchemaNames(live, STAMP);
    for (const name of [rebuildSchema, oldSchema]) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
      expect(name).toMatch(/^[a-z_][a-z0-9_]*$/);
      // What Postgres would keep of it is still not the live name.
      expect(name.slice(0, 63)).not.toBe(live);
    }
    expect(rebuildSchema).not.toBe(oldSchema);
    expect(rebuildSchema).toContain(`_rebuild_${STAMP}`);
    expect(oldSchema).toContain(`_old_${STAMP}`);
  });

  it('every live name length gives distinct names within 63 bytes, stable for the same input', () => {
    for (let length = 1; length <= 63; length++) {
      const live = 's'.repeat(length);
      const names = swapSchemaNames(live, STAMP);
      expect(new Set([live, names.rebuildSchema, names.oldSchema]).size).toBe(3);
      expect(Buffer.byteLength(names.rebuildSchema)).toBeLessThanOrEqual(63);
      expect(swapSchemaNames(live, STAMP)).toEqual(names);
    }
    expect(swapSchemaNames('star', STAMP)).toEqual({ rebuildSchema: `star_rebuild_${STAMP}`, oldSchema: `star_old_${STAMP}` });
    // Two long names that share their first characters still get different rebuild names.
    expect(swapSchemaNames(`${'a'.repeat(60)}bcd`, STAMP).rebuildSchema).not.toBe(swapSchemaNames(`${'a'.repeat(60)}xyz`, STAMP).rebuildSchema);
  });

  it('the swap refuses names Postgres would truncate or that collide, before connecting', async () => {
    const unreachable = 'postgresql://nobody@127.0.0.1:1/none';
    await expect(swapSchemas(unreachable, `${'w'.repeat(63)}_rebuild_${STAMP}`, 'w'.repeat(63), `w_old_${STAMP}`)).rejects.toThrow(SchemaSwapError);
    await expect(swapSchemas(unreachable, 'star', 'star', 'star_old')).rejects.toThrow(/must differ/);
  });
});
