/**
 * In-memory form of one warehouse row, by column type (see warehouse-model.ts):
 *   int → number, bigint → bigint, text → string, boolean → boolean,
 *   date → 'YYYY-MM-DD', time → 'HH:MM:SS.mmm', money → exact decimal string '3.94',
 *   timestamptz → ISO-8601 UTC string '2026-11-22T12:00:00.123Z'.
 * Strings for dates, times and money keep values exact end to end (no float, no time zone).
 */
export type WarehouseValue = string | number | bigint | boolean | null;
export type WarehouseRow = Record<string, WarehouseValue>;
