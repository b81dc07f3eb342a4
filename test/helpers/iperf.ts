// iperf3 over the overlay for the e2e tests: a one-shot server in one peer's namespace (text mode,
// flushed, so a test can act once data flows) and a JSON client in another; both bounded in time.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { runAsync, type MeshLab } from './mesh-lab.js';

export interface IperfServer {
  child: ChildProcess;
  /** Resolves at the first per-second interval line: data is flowing. */
  firstInterval: Promise<void>;
  lines: string[];
}

let nextPort = 5201;

/** iperf3 -s -1 in peer `name`'s namespace; resolves once it listens. */
export async function startIperfServer(m: MeshLab, name: string): Promise<IperfServer & { port: number }> {
  const port = nextPort++;
  const child = m.lab.spawn(m.peer(name).ns, 'iperf3', ['-s', '-1', '-p', String(port), '-i', '1', '--forceflush']);
  const lines: string[] = [];
  let onInterval: () => void = () => undefined;
  const firstInterval = new Promise<void>((resolve) => (onInterval = resolve));
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`iperf3 server in ${name} did not listen within 10 s: ${lines.join('\n')}`)), 10_000);
    createInterface({ input: child.stdout! }).on('line', (l) => {
      lines.push(l);
      if (lines.length > 100) lines.shift();
      if (/Server listening/.test(l)) {
        clearTimeout(timer);
        resolve();
      }
      if (/\d+\.\d+-\d+\.\d+\s+sec\s+[\d.]+\s+\w?Bytes/.test(l)) onInterval();
    });
    child.stderr!.on('data', (b: Buffer) => lines.push(`stderr: ${b.toString().trim()}`));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`iperf3 server in ${name} exited (${code}) before listening: ${lines.join('\n')}`));
    });
  });
  await listening;
  return { child, firstInterval, lines, port };
}

export interface IperfResult {
  ok: boolean;
  sentBytes: number;
  receivedBytes: number;
  seconds: number;
  mbitPerS: number;
  retransmits: number;
  error: string;
  ms: number;
}

/**
 * iperf3 -c toOverlay -J from peer `from` for `seconds` (or `-n bytes`); parses completion and bytes.
 * ok means iperf3 exited 0, reported no error and the receiver got bytes.
 */
export async function iperfClient(m: MeshLab, from: string, toOverlay: string, port: number, opts: { seconds?: number; bytes?: string; timeoutMs?: number; reverse?: boolean } = {}): Promise<IperfResult> {
  const args = ['iperf3', '-c', toOverlay, '-p', String(port), '-J', '--connect-timeout', '5000'];
  if (opts.bytes !== undefined) args.push('-n', opts.bytes);
  else args.push('-t', String(opts.seconds ?? 3));
  if (opts.reverse) args.push('-R');
  const r = await runAsync(m.peer(from).ns, args, opts.timeoutMs ?? 60_000);
  let j: Record<string, any> = {};
  try {
    j = JSON.parse(r.stdout) as Record<string, any>;
  } catch {
    // no JSON: killed or crashed; reported through error below
  }
  const end = j.end ?? {};
  const receivedBytes = Number(end.sum_received?.bytes ?? 0);
  const sentBytes = Number(end.sum_sent?.bytes ?? 0);
  const seconds = Number(end.sum_received?.seconds ?? 0);
  const error = String(j.error ?? (r.code === 0 ? '' : `exit ${r.code ?? r.signal}: ${(r.stderr || r.stdout).slice(-300)}`));
  return {
    ok: r.code === 0 && error === '' && receivedBytes > 0,
    sentBytes,
    receivedBytes,
    seconds,
    mbitPerS: seconds > 0 ? (receivedBytes * 8) / seconds / 1e6 : 0,
    retransmits: Number(end.sum_sent?.retransmits ?? 0),
    error,
    ms: r.ms,
  };
}

export function describeIperf(r: IperfResult): string {
  return `${r.ok ? 'completed' : 'FAILED'}: ${(r.receivedBytes / 1e6).toFixed(1)} MB received in ${r.seconds.toFixed(1)} s (${r.mbitPerS.toFixed(1)} Mbit/s, ${r.retransmits} TCP retransmits)${r.error ? `, error: ${r.error}` : ''}`;
}
