/**
 * Types of `dynalite` (npm), the in-process DynamoDB emulator the local run and the tests use; the
 * package ships none. Only what lib/local/LocalDynamo.ts calls.
 */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  /** Options of the emulator. */
  interface DynaliteOptions {
    /** A LevelDB folder to keep the tables in; in memory when absent. */
    path?: string;
    /** How long a new table stays CREATING, in ms. @default 500 */
    createTableMs?: number;
    /** How long a deleted table stays DELETING, in ms. @default 500 */
    deleteTableMs?: number;
    /** How long an updated table stays UPDATING, in ms. @default 500 */
    updateTableMs?: number;
  }

  /** An HTTP server answering the DynamoDB API (call `listen` on it). */
  export default function dynalite(options?: DynaliteOptions): Server;
}
