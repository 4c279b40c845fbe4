/**
 * Benchmark section: our SMTP client against nodemailer, same messages, one STARTTLS + AUTH
 * connection each, through a proxy adding real round-trip time, to `smtp-server` and to Postfix.
 * @module
 */
import { fixed, markdownTable, median, type BenchSection } from '../report.js';
import { nodemailerClient, ourClient, type BenchClient } from './clients.js';
import { buildMessages, type BenchMessage } from './messages.js';
import { RemoteServers, type RemoteProxy, type SmtpTarget } from './remoteServers.js';
import { startPostfixTarget, startSmtpServerTarget, type BenchServer } from './servers.js';

const RTTS_MS = [0, 10, 40];
const COUNTS = [10, 50];
const SETUP_SAMPLES = 3;
const SESSION_TIMEOUT_MS = 120_000;

/** How many measured runs a configuration gets (fewer where one run takes seconds); `BENCH_RUNS` overrides. */
function runsFor(rttMs: number, count: number): number {
  const forced = Number(process.env['BENCH_RUNS']);
  if (Number.isInteger(forced) && forced > 0) return forced;
  return rttMs >= 40 && count >= 50 ? 3 : 5;
}

/** What one client did in one configuration. */
interface ClientResult {
  ms: number[];
  cpuMs: number[];
  turns: number[];
  setupTurns: number;
  error?: string;
}

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${SESSION_TIMEOUT_MS} ms`)), SESSION_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** One session through the proxy: timing, and the round trips it cost (read once the connection closed). */
async function measureSession(client: BenchClient, server: BenchServer, proxy: RemoteProxy, target: SmtpTarget, messages: BenchMessage[]) {
  await proxy.reset();
  const timing = await withTimeout(client.session(target, messages), `${client.name} sending ${messages.length}`);
  await proxy.idle();
  const { turns } = await proxy.stats();
  await server.collect(messages);
  return { ...timing, turns };
}

async function measureSetupTurns(client: BenchClient, proxy: RemoteProxy, target: SmtpTarget): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < SETUP_SAMPLES; i++) {
    await proxy.reset();
    await withTimeout(client.setupOnly(target), `${client.name} setup`);
    await proxy.idle();
    samples.push((await proxy.stats()).turns);
  }
  return median(samples);
}

/** Runs every configuration of one server; returns its table rows. */
async function benchServer(server: BenchServer, remote: RemoteServers, clients: BenchClient[], log: (line: string) => void): Promise<string[][]> {
  const rows: string[][] = [];
  const all = buildMessages(Math.max(...COUNTS));
  for (const rttMs of RTTS_MS) {
    const proxy = await remote.startProxy({ host: server.target.host, port: server.target.port }, rttMs);
    const target = { ...server.target, host: proxy.host, port: proxy.port };
    try {
      const setup = new Map<BenchClient, number>();
      for (const client of clients) {
        if (rttMs === RTTS_MS[0]) await measureSession(client, server, proxy, target, all.slice(0, COUNTS[0])); // warm-up, not counted
        setup.set(client, await measureSetupTurns(client, proxy, target));
      }
      for (const count of COUNTS) {
        const messages = all.slice(0, count);
        const results = new Map<BenchClient, ClientResult>(clients.map((c) => [c, { ms: [], cpuMs: [], turns: [], setupTurns: setup.get(c) ?? 0 }]));
        const runs = runsFor(rttMs, count);
        for (let run = 0; run < runs; run++) {
          const order = run % 2 === 0 ? clients : [...clients].reverse(); // interleaved, alternating who goes first
          for (const client of order) {
            const result = results.get(client);
            if (!result || result.error) continue;
            try {
              const measured = await measureSession(client, server, proxy, target, messages);
              result.ms.push(measured.ms);
              result.cpuMs.push(measured.cpuMs);
              result.turns.push(measured.turns);
            } catch (error) {
              result.error = error instanceof Error ? error.message.split('\n')[0] : String(error);
              log(`  ${client.name} failed: ${result.error}`);
            }
          }
        }
        log(`  ${server.name}, RTT ${rttMs} ms, N ${count}: ${runs} runs done`);
        const byName = (name: string) => [...results].find(([client]) => client.name === name)?.[1];
        rows.push(tableRow(server.name, rttMs, count, byName('ours'), byName('nodemailer')));
      }
    } finally {
      await proxy.stop();
    }
  }
  return rows;
}

function tableRow(server: string, rttMs: number, count: number, ours: ClientResult | undefined, theirs: ClientResult | undefined): string[] {
  const ms = (r?: ClientResult) => (r?.error ? 'failed' : r && r.ms.length > 0 ? fixed(median(r.ms), 1) : '–');
  const perMessageTurns = (r?: ClientResult) => (r && r.turns.length > 0 && !r.error ? fixed((median(r.turns) - r.setupTurns) / count, 2) : '–');
  const cpu = (r?: ClientResult) => (rttMs === 0 && r && r.cpuMs.length > 0 && !r.error ? fixed(median(r.cpuMs) / count, 3) : '–');
  const ratio =
    ours && theirs && ours.ms.length > 0 && theirs.ms.length > 0 && !ours.error && !theirs.error
      ? `${fixed(median(theirs.ms) / median(ours.ms), 2)}x`
      : '–';
  return [server, String(rttMs), String(count), ms(ours), ms(theirs), ratio, perMessageTurns(ours), perMessageTurns(theirs), cpu(ours), cpu(theirs)];
}

const HEADERS = [
  'server',
  'RTT ms',
  'N',
  'ours ms',
  'nodemailer ms',
  'ratio (nodemailer/ours)',
  'round trips/msg ours',
  'round trips/msg nodemailer',
  'CPU ms/msg ours',
  'CPU ms/msg nodemailer',
];

/** The SMTP client comparison. */
export const smtpSection: BenchSection = {
  name: 'smtp',
  title: 'SMTP client: ours vs nodemailer',
  async run(log) {
    const notes: string[] = [];
    const clients: BenchClient[] = [ourClient(), nodemailerClient()];

    const remote = await RemoteServers.start();
    const rows: string[][] = [];
    try {
      const starters: Array<[string, () => Promise<BenchServer>]> = [
        ['smtp-server', () => startSmtpServerTarget(remote)],
        ['Postfix', () => startPostfixTarget()],
      ];
      for (const [name, start] of starters) {
        let server: BenchServer;
        try {
          server = await start();
        } catch (error) {
          const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
          notes.push(`**${name} rows skipped**: ${reason}`);
          log(`${name} skipped: ${reason}`);
          continue;
        }
        log(`${server.name}: measuring`);
        try {
          rows.push(...(await benchServer(server, remote, clients, log)));
        } finally {
          await server.stop();
        }
      }
    } finally {
      await remote.shutdown();
    }

    return [
      markdownTable(HEADERS, rows),
      '',
      ...notes.map((note) => `${note}\n`),
      'How it was measured:',
      `- Messages: the same ${COUNTS.join(' and ')} raw messages (about 5 KiB, 1 to 3 recipients) for both clients, sent with every \`send\`/\`sendMail\` started at once over ONE connection with STARTTLS and AUTH PLAIN.`,
      '- nodemailer: `pool: true, maxConnections: 1, maxMessages: Infinity`. Ours: `SmtpClient.connect` then `Promise.all(send)` then `quit`.',
      `- Time: wall clock from connect until every message was accepted (the closing QUIT is not timed); median of ${runsFor(0, 10)} runs (${runsFor(40, 50)} at RTT 40 ms with N 50), the two clients interleaved and alternating who goes first, after one warm-up session each.`,
      '- `smtp-server` holds its greeting 100 ms to catch early talkers (built in, not configurable): a fixed cost in every session of both clients.',
      '- Latency: a proxy of ours (`bench/latencyProxy.ts`) delays every chunk by RTT/2 in each direction; TLS passes through it end to end.',
      `- Round trips/msg: the proxy counts a round trip each time the client writes after the server wrote; from a session's count (connect to close, QUIT included) the median count of a session that only connects, authenticates and quits (${SETUP_SAMPLES} samples: ours connect+quit, nodemailer \`verify()\`) is subtracted, and the rest divided by N.`,
      '- CPU ms/msg (RTT 0 only): `process.cpuUsage()` of the benchmark process over the timed part, divided by N; the servers and the proxy run in other processes, so this is the client alone (TLS handshake included).',
    ].join('\n');
  },
};
