/**
 * TEMPORARY trace (not for merge): timestamps along a change's path, one JSON line each, to the
 * file TOTESYS_FRESH_TRACE names (append, synchronous; threads and processes share it).
 */
import fs from 'node:fs';
const file = process.env.TOTESYS_FRESH_TRACE;
export const tracing = Boolean(file);
export const nowMs = (): number => performance.timeOrigin + performance.now();
export const traceState = { seq: 0, firstReadAt: 0 };
export function trace(event: string, fields: Record<string, unknown> = {}): void {
  if (!file) return;
  fs.appendFileSync(file, JSON.stringify({ e: event, t: nowMs(), ...fields }) + '\n');
}
/** A client whose promise-returning queries are timed into `into`. */
const proxies = new WeakMap<object, any>();
let sink: { sql: string; ms: number }[] = [];
export function timedClient<T extends { query: (...args: any[]) => any }>(client: T, into: { sql: string; ms: number }[]): T {
  if (!file) return client;
  sink = into;
  const known = proxies.get(client);
  if (known) return known;
  const proxy = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver);
      return (...args: any[]) => {
        const started = nowMs();
        const result = target.query(...args);
        const sql = typeof args[0] === 'string' ? args[0] : String(args[0]?.text ?? 'COPY');
        const label = sql.replace(/\s+/g, ' ').slice(0, 60);
        if (result && typeof result.then === 'function') {
          const statements = sink;
          return result.then((r: unknown) => {
            statements.push({ sql: label, ms: nowMs() - started });
            return r;
          });
        }
        const copySink = sink;
        result?.on?.('finish', () => copySink.push({ sql: 'COPY ' + label, ms: nowMs() - started }));
        return result;
      };
    },
  });
  proxies.set(client, proxy);
  return proxy;
}
