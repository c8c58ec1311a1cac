import type { ObjectStore } from '../../bucket/object-store.js';

/**
 * `store` as the code under test sees it, telling the test of every read (`onGet`, the key) and
 * every listing (`onList`, the prefix) before passing it on.
 */
export function observedObjectStore(store: ObjectStore, observe: { onGet?: (key: string) => void; onList?: (prefix: string) => void }): ObjectStore {
  return {
    location: store.location,
    put: (key, body) => store.put(key, body),
    get: (key) => {
      observe.onGet?.(key);
      return store.get(key);
    },
    exists: (key) => store.exists(key),
    list: (prefix, options) => {
      observe.onList?.(prefix);
      return store.list(prefix, options);
    },
    delete: (key) => store.delete(key),
  };
}
