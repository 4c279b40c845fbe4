/**
 * Keeps the SQS emulator's queues and messages in a folder across runs: fauxqs's own SQLite
 * persistence (`dataDir`, fauxqs 2), wired into stores the local run builds its app from.
 *
 * fauxqs offers persistence only through `startFauxqs`, which listens on every interface and takes
 * no request hooks; the local run listens on 127.0.0.1 only and checks the `Host` of each request
 * (loopbackHost.ts). So this module does what `startFauxqs` does (fauxqs 2.4, dist/app.js): make
 * the stores, load what the folder holds into them, then hand them the persistence manager, which
 * writes every change through to SQLite at once. Its classes are not exported by the package: they
 * are imported from beside its entry point, and `test/local/LocalSqs.test.ts` checks a restart.
 * @module
 */
import { mkdir } from 'node:fs/promises';

/** fauxqs's stores, as `buildApp({ stores })` takes them (opaque here). */
export interface EmulatorStores {
  sqsStore: object;
  snsStore: object;
  s3Store: object;
}

interface PersistenceManager {
  load(sqsStore: object, snsStore: object, s3Store: object): void;
  close(): void;
  updateMessageReady(messageId: string): void;
  db: { prepare(sql: string): { run(...values: unknown[]): unknown } };
}
interface WithPersistence {
  persistence?: PersistenceManager;
}
interface SqsStoreShape extends WithPersistence {
  allQueues(): Iterable<WithPersistence>;
}

/** The fauxqs module beside its entry point (`dist/<file>`). */
async function fauxqsInternal<T>(file: string): Promise<T> {
  return (await import(new URL(file, import.meta.resolve('fauxqs')).href)) as T;
}

/**
 * Empty stores for `buildApp({ stores })`: the app can listen (and its port be checked) before the
 * folder they will be kept in is opened ({@link keepStoresIn}).
 */
export async function emptyEmulatorStores(): Promise<EmulatorStores> {
  const [{ SqsStore }, { SnsStore }, { S3Store }] = await Promise.all([
    fauxqsInternal<{ SqsStore: new () => SqsStoreShape }>('./sqs/sqsStore.js'),
    fauxqsInternal<{ SnsStore: new () => WithPersistence }>('./sns/snsStore.js'),
    fauxqsInternal<{ S3Store: new () => WithPersistence }>('./s3/s3Store.js'),
  ]);
  return { sqsStore: new SqsStore(), snsStore: new SnsStore(), s3Store: new S3Store() };
}

/**
 * Opens (or creates) the emulator's database in `dataDir`, loads what it kept into `stores`
 * (queues with their attributes; their messages, ready, delayed and in flight with their visibility
 * deadlines and receive counts), and from then on writes every change through to it.
 *
 * @returns closes the database (call it once the app has closed)
 * @throws the database's error when the folder cannot be written or the file is not fauxqs's
 * @example
 * const stores = await emptyEmulatorStores();
 * const app = buildApp({ logger: false, stores: stores as never });
 * await app.listen({ host: '127.0.0.1', port });
 * const close = await keepStoresIn(stores, '.local/sqs');
 */
export async function keepStoresIn(stores: EmulatorStores, dataDir: string): Promise<() => void> {
  await mkdir(dataDir, { recursive: true });
  const { PersistenceManager } = await fauxqsInternal<{ PersistenceManager: new (dir: string) => PersistenceManager }>('./persistence.js');
  const { sqsStore, snsStore, s3Store } = stores as { sqsStore: SqsStoreShape; snsStore: WithPersistence; s3Store: WithPersistence };
  const manager = new PersistenceManager(dataDir);
  try {
    // fauxqs 2.4.1 marks a message given back (ChangeMessageVisibility 0) ready by writing NULL into
    // its NOT NULL receive count: SQLite throws, and the message, already out of the in-flight list,
    // never reaches the ready one (lost). Clear only the receipt handle and the deadline instead.
    const ready = manager.db.prepare('UPDATE sqs_messages SET receipt_handle = NULL, visibility_deadline = NULL WHERE message_id = ?');
    manager.updateMessageReady = (messageId) => {
      ready.run(messageId);
    };
    // As startFauxqs does: load first, then write through (loading with persistence on would rewrite what it reads).
    manager.load(sqsStore, snsStore, s3Store);
    sqsStore.persistence = manager;
    snsStore.persistence = manager;
    s3Store.persistence = manager;
    for (const queue of sqsStore.allQueues()) queue.persistence = manager;
  } catch (error) {
    manager.close();
    throw error;
  }
  return () => {
    manager.close();
  };
}
