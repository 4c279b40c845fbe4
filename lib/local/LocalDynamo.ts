/**
 * The local run's DynamoDB: the `dynalite` emulator in-process on 127.0.0.1, with the delivery
 * ledger's table made from `lib/delivery/ledger/tableSchema.ts`, as the stack makes it. Like the
 * local SQS, it answers only requests whose `Host` is a loopback name with its port (no DNS
 * rebinding). The tests start it too (test/support/dynamoEmulator.ts).
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { ledgerCreateTableInput } from '../delivery/ledger/tableSchema.js';
import { WRONG_HOST, isLoopbackHost } from './loopbackHost.js';
import { LOCAL_CREDENTIALS } from './LocalSqs.js';
import { listenOn } from './ports.js';

/** Name of the local run's ledger table. */
export const LOCAL_LEDGER_TABLE = 'mail-ledger';

/** The running emulator. */
export interface LocalDynamo {
  /** `http://127.0.0.1:<port>`: the function's `AWS_ENDPOINT_URL_DYNAMODB`. */
  endpoint: string;
  port: number;
  /** A client of the emulator (local credentials, its endpoint). */
  client: DynamoDBClient;
  /** Makes a ledger table (`CreateTable` from the table schema), unless it is there; dynalite has it ACTIVE at once. */
  createLedgerTable(name: string): Promise<void>;
  /** Closes every connection and the emulator. */
  stop(): Promise<void>;
}

/** Options of {@link startLocalDynamo}. */
export interface LocalDynamoOptions {
  region: string;
  /** A folder to keep the tables in (LevelDB); in memory when absent. */
  path?: string;
}

/**
 * Starts dynalite on `127.0.0.1:port` (0: any free port).
 * @throws {PortInUseError} when the port is taken
 * @example
 * const dynamo = await startLocalDynamo(0, { region: 'eu-west-1' });
 * await dynamo.createLedgerTable(LOCAL_LEDGER_TABLE);
 * // the function: MAIL_LEDGER_TABLE=mail-ledger AWS_ENDPOINT_URL_DYNAMODB=<dynamo.endpoint>
 */
export async function startLocalDynamo(port: number, options: LocalDynamoOptions): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path === undefined ? {} : { path: options.path }) });
  // The emulator checks no signatures: answer only this machine's own programs.
  const handlers = server.listeners('request') as ((request: IncomingMessage, response: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (isLoopbackHost(request.headers.host, request.socket.localPort)) {
      for (const handler of handlers) handler(request, response);
      return;
    }
    response.writeHead(WRONG_HOST.status, { 'content-type': 'text/plain; charset=utf-8' }).end(WRONG_HOST.body);
  });
  const boundPort = await listenOn(server, port, 'DynamoDB', '--dynamo-port');
  const endpoint = `http://127.0.0.1:${boundPort}`;
  const client = new DynamoDBClient({ endpoint, region: options.region, credentials: LOCAL_CREDENTIALS });
  return {
    endpoint,
    port: boundPort,
    client,
    async createLedgerTable(name) {
      try {
        await client.send(new CreateTableCommand(ledgerCreateTableInput(name)));
      } catch (error) {
        // Kept from an earlier run (a `path`): the same table.
        if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
      }
    },
    async stop() {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}
