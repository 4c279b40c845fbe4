/**
 * Child process of the SMTP benchmark: hosts the in-process `smtp-server` and the latency
 * proxies, so that the benchmark process itself runs nothing but the client being measured
 * (its `process.cpuUsage()` is then the client's CPU time). Driven over IPC by `remoteServers.ts`.
 * @module
 */
import { startSmtpServer, type SmtpServerHandle } from '../../test/support/smtpServer.js';
import { startLatencyProxy, type LatencyProxy } from '../latencyProxy.js';
import type { ServerRequest } from './remoteServers.js';

let smtpServer: SmtpServerHandle | undefined;
const proxies = new Map<number, LatencyProxy>();
let nextProxyId = 1;

function proxy(id: number): LatencyProxy {
  const found = proxies.get(id);
  if (!found) throw new Error(`no proxy ${id}`);
  return found;
}

async function handle(request: ServerRequest): Promise<unknown> {
  switch (request.op) {
    case 'startSmtpServer': {
      smtpServer ??= await startSmtpServer();
      const { host, port, ca, user, pass } = smtpServer;
      return { host, port, ca, user, pass };
    }
    case 'takeSmtpMessages': {
      const taken = smtpServer?.messages.splice(0) ?? [];
      return taken.map((message) => ({ to: message.to.length, bytes: message.raw.length }));
    }
    case 'startProxy': {
      const id = nextProxyId++;
      proxies.set(id, await startLatencyProxy({ target: request.target, rttMs: request.rttMs }));
      return { id, host: '127.0.0.1', port: proxy(id).port };
    }
    case 'proxyStats':
      return { ...proxy(request.id).stats };
    case 'resetProxy':
      proxy(request.id).reset();
      return undefined;
    case 'proxyIdle':
      return proxy(request.id).idle();
    case 'stopProxy':
      await proxy(request.id).stop();
      return proxies.delete(request.id);
    case 'shutdown':
      for (const open of proxies.values()) await open.stop();
      await smtpServer?.stop();
      setImmediate(() => process.exit(0));
      return true;
  }
}

process.on('message', (message: { id: number; request: ServerRequest }) => {
  handle(message.request).then(
    (result) => process.send?.({ id: message.id, ok: true, result }),
    (error: unknown) => process.send?.({ id: message.id, ok: false, error: error instanceof Error ? error.stack : String(error) }),
  );
});
process.send?.({ ready: true });
