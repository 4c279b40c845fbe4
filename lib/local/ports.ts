/**
 * Listening on 127.0.0.1 only, and a clear message naming the flag when a port is taken.
 * @module
 */
import type { AddressInfo, Server } from 'node:net';

/** The local run listens here and nowhere else. */
export const LOOPBACK = '127.0.0.1';

/** A port the local run wants is taken (often by a local run still running). */
export class PortInUseError extends Error {
  readonly port: number;
  readonly flag: string;
  constructor(what: string, port: number, flag: string) {
    super(
      `the ${what} port ${port} on ${LOOPBACK} is in use: is another local run (npm start) still running? ` +
        `Stop it (Ctrl-C in its terminal), or pick another port with ${flag} <port> (0: any free port).`,
    );
    this.name = 'PortInUseError';
    this.port = port;
    this.flag = flag;
  }
}

/** Turns an EADDRINUSE (or EACCES on a privileged port) into a {@link PortInUseError}; other errors pass (a non-Error wrapped). */
export function portError(error: unknown, what: string, port: number, flag: string): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE' || code === 'EACCES') return new PortInUseError(what, port, flag);
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Makes `server` listen on `127.0.0.1:port` and resolves with the port it got.
 * @throws {PortInUseError} when the port is taken
 */
export function listenOn(server: Server, port: number, what: string, flag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: unknown): void => reject(portError(error, what, port, flag));
    server.once('error', onError);
    server.listen(port, LOOPBACK, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
