import { afterAll, beforeAll } from 'vitest';

/** What a suite starts and must release: a test database (drop), an emulator or stand-in (stop), a bucket (cleanup). */
export type SuiteResource = { drop(): Promise<unknown> } | { stop(): Promise<unknown> } | { cleanup(): Promise<unknown> };

function release(resource: SuiteResource): Promise<unknown> {
  if ('drop' in resource) return resource.drop();
  if ('stop' in resource) return resource.stop();
  return resource.cleanup();
}

/**
 * The resources of one `describe` (call it there), in place of a `let` per resource and hand-written
 * hooks: every starter runs before the first test, all at once; every resource that started is
 * released after the last test, also when another one failed to start (that failure fails the
 * suite). Read the fields inside tests.
 */
export function useSuiteResources<T extends Record<string, SuiteResource>>(starters: { [K in keyof T]: () => Promise<T[K]> }): T {
  const resources = {} as T;
  beforeAll(async () => {
    const names = Object.keys(starters) as (keyof T)[];
    const started = await Promise.allSettled(names.map((name) => starters[name]()));
    started.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') resources[names[i]!] = outcome.value;
    });
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  });
  afterAll(async () => {
    await Promise.all(Object.values(resources).map(release));
  });
  return resources;
}
