/**
 * The cached bundle of a TypeScript entry module of this project (module-bundle.mjs): the URL of
 * plain JavaScript to import or start a worker from, or null when it cannot be made (then run the
 * TypeScript source through tsx).
 */
export function cachedBundle(entry: URL, options?: { cacheDir?: string }): Promise<URL | null>;
