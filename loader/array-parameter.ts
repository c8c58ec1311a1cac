/**
 * A query parameter for a Postgres array of keys. All safe integers (source ids, dimension keys):
 * the array's text form, built by one join. node-postgres would otherwise quote and escape each
 * element on its own (escapeElement), about a tenth of a second of the loader's main thread per
 * scale-10 first sync for arrays of up to 10,000 ids (docs/performance-loader.md). Anything else
 * goes as it is, for node-postgres to serialize.
 */
export function arrayParameter(values: readonly unknown[]): unknown {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) return values;
  }
  return `{${values.join(',')}}`;
}
