export { openStore, isSqliteFile, SqliteStore, STORE_SCHEMA_VERSION } from './sqlite-store.js';
export type { OpenStoreOptions } from './sqlite-store.js';
