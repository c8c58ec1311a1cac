/**
 * A fixture factory: `defaults` describe one valid value, and each call returns a fresh deep copy
 * with the test's `overrides` on top, so a test states only what it changes and no test sees
 * another's mutations.
 */
export function fixtureFactory<T extends object>(defaults: T): (overrides?: Partial<T>) => T {
  return (overrides = {}) => ({ ...structuredClone(defaults), ...overrides });
}
