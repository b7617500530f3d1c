/** The SQLite object store: revisions, optimistic concurrency, watch history. */
export { Store, objectKey, storeDefaults } from './store.ts';
export type { StoredObject, StoreEvent, StoreListener } from './store.ts';
export { StoreError } from './errors.ts';
export type { StoreErrorReason } from './errors.ts';
