import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { connect, createServer } from 'node:net';

/** A foreground daemon started by us, with what it printed kept for error messages. */
export interface Daemon {
  readonly child: ChildProcess;
  /** stdout and stderr so far (the last 16 KiB). */
  output(): string;
  /** The exit code or signal once it has exited, else undefined. */
  exited(): string | undefined;
}

/**
 * Starts a daemon in the foreground as our child, stdin closed and output captured.
 *
 * @example
 * const dovecot = startDaemon('/usr/sbin/dovecot', ['-F', '-c', conf]);
 */
export function startDaemon(command: string, args: readonly string[]): Daemon {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exit: string | undefined;
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-16_384);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('error', (error) => {
    exit = `failed to start: ${error.message}`;
  });
  child.on('exit', (code, signal) => {
    exit = signal === null ? `exit code ${code}` : `signal ${signal}`;
  });
  return { child, output: () => output, exited: () => exit };
}

/**
 * Finds a free TCP port on 127.0.0.1 by binding port 0 and closing again.
 *
 * @example
 * const port = await freePort();
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a probe listener'));
      });
    });
  });
}

/**
 * Polls `check` every 25 ms until it returns true.
 *
 * @throws Error with `describe()` appended when `timeoutMs` passes or `failed()` names a reason first.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; failed?: () => string | undefined; describe: () => string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await check()) return;
    const failure = options.failed?.();
    if (failure !== undefined) throw new Error(`${what}: ${failure}\n${options.describe()}`);
    if (Date.now() >= deadline) throw new Error(`${what}: not after ${options.timeoutMs} ms\n${options.describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** True when `path` exists. */
export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Connects to 127.0.0.1:port and resolves true when the server's first line starts with `banner`
 * (then says QUIT), false when nothing listens yet or it greets with something else.
 */
export async function greets(port: number, banner: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    const finish = (ok: boolean): void => {
      socket.removeAllListeners('data');
      if (ok) socket.end('QUIT\r\n');
      else socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const lineEnd = received.indexOf('\n');
      if (lineEnd !== -1) finish(received.startsWith(banner));
    });
    socket.on('close', () => resolve(false));
  });
}

interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly pgrp: number;
  readonly zombie: boolean;
}

function readProcessTable(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses, so cut at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    entries.push({ pid: Number(name), zombie: fields[0] === 'Z', ppid: Number(fields[1]), pgrp: Number(fields[2]) });
  }
  return entries;
}

/**
 * The process `pid`, its descendants, and the members of its process group: everything a daemon
 * master started (Postfix's master is a process group leader; its children may outlive it briefly).
 */
export function processTree(pid: number): number[] {
  const table = readProcessTable().filter((entry) => !entry.zombie);
  const tree = new Set<number>();
  if (table.some((entry) => entry.pid === pid)) tree.add(pid);
  for (const entry of table) if (entry.pgrp === pid) tree.add(entry.pid);
  let grew = true;
  while (grew) {
    grew = false;
    for (const entry of table) {
      if (!tree.has(entry.pid) && tree.has(entry.ppid)) {
        tree.add(entry.pid);
        grew = true;
      }
    }
  }
  return [...tree];
}

/** The pids among `pids` that still run (zombies count as gone). */
export function stillRunning(pids: readonly number[]): number[] {
  const alive = new Set(
    readProcessTable()
      .filter((entry) => !entry.zombie)
      .map((entry) => entry.pid),
  );
  return pids.filter((pid) => alive.has(pid));
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** How {@link stopProcessTree} stops a tree. */
export interface StopOptions {
  /** More trees to wait for, e.g. the wrapper script that started the master. */
  readonly roots?: readonly number[];
  /**
   * SIGTERM every process of the tree at once instead of the master alone: Dovecot's master
   * otherwise keeps its log process a second longer than needed.
   * @default false
   */
  readonly signalTree?: boolean;
  /** How long to wait before SIGKILL. @default 5000 */
  readonly graceMs?: number;
}

/**
 * Stops a daemon master and everything it started: SIGTERM to the master (or the whole tree),
 * then waits until it, its tree and the trees of `roots` are all gone; whatever is left after
 * `graceMs` gets SIGKILL.
 *
 * @throws Error listing the pids still alive after SIGKILL.
 * @example
 * await stopProcessTree(masterPid, { roots: [wrapper.pid] });
 */
export async function stopProcessTree(masterPid: number, options: StopOptions = {}): Promise<void> {
  const pids = [...new Set([masterPid, ...(options.roots ?? [])].flatMap((pid) => processTree(pid)))];
  if (pids.length === 0) return;
  for (const pid of options.signalTree === true ? pids : [masterPid]) signal(pid, 'SIGTERM');
  const deadline = Date.now() + (options.graceMs ?? 5_000);
  while (stillRunning(pids).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const left = stillRunning(pids);
  if (left.length === 0) return;
  for (const pid of left) signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 2_000;
  while (stillRunning(left).length > 0 && Date.now() < killDeadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const survivors = stillRunning(left);
  if (survivors.length > 0) throw new Error(`processes still running after SIGKILL: ${survivors.join(', ')}`);
}
