/**
 * The lifecycle of scripted servers and SMTP clients in a test file: {@link useScriptedServers}
 * starts them on demand and closes every one after each test (by handle, never by name).
 * @module
 */
import { afterEach } from 'vitest';
import { SmtpClient, type SmtpConnectOptions } from '../../lib/smtp/index.js';
import { startScriptedServer, type ScriptedServerHandle, type ScriptedServerOptions } from './scriptedServer.js';

/** What {@link useScriptedServers} gives a test file. */
export interface ScriptedServers {
  /** Starts a scripted server on 127.0.0.1, stopped after the test. */
  serve: (options?: ScriptedServerOptions) => Promise<ScriptedServerHandle>;
  /** Connects in clear with the EHLO name `client.test` (options override), closed after the test. */
  connect: (server: ScriptedServerHandle, options?: Partial<SmtpConnectOptions>) => Promise<SmtpClient>;
  /** Servers and clients started some other way, to be stopped and closed after the test too. */
  readonly servers: ScriptedServerHandle[];
  readonly clients: SmtpClient[];
}

/**
 * Registers, in the calling file or `describe`, an `afterEach` that closes every client and stops
 * every server the test started.
 * @example
 * const { serve, connect } = useScriptedServers();
 * it('…', async () => {
 *   const client = await connect(await serve({ extensions: ['PIPELINING'] }));
 * });
 */
export function useScriptedServers(): ScriptedServers {
  const servers: ScriptedServerHandle[] = [];
  const clients: SmtpClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    for (const server of servers.splice(0)) await server.stop();
  });
  return {
    servers,
    clients,
    serve: async (options = {}) => {
      const server = await startScriptedServer(options);
      servers.push(server);
      return server;
    },
    connect: async (server, options = {}) => {
      const client = await SmtpClient.connect({ host: server.host, port: server.port, security: 'none', clientName: 'client.test', ...options });
      clients.push(client);
      return client;
    },
  };
}
