// `meshd status` and `meshd ping` as commander subcommands the CLI registers. They only talk to a
// running daemon over its control socket (ops/control-client.ts) and render with ops/status-format.ts.
// Exit codes: 0 success, 1 no reply or no daemon, 2 bad usage (commander errors; the CLI maps them).
import { existsSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { fetchStatus, requestInvite, requestPing, requestRelease, requestRevoke } from './control-client.js';
import { defaultSocketPath, maxInviteTtlMs, maxInviteUses, maxPingCount, maxPingTimeoutMs, type InviteCommand } from './control-protocol.js';
import { formatPingReply, formatPingSummary, formatStatus, printableName } from './status-format.js';

/** Where the daemons keep their state by default; mirrors `--state-dir` in config/schema.ts. */
export const defaultStateDir = '/var/lib/meshd';
/** Pings sent by default; with --until-direct more, since punching can take a few seconds. */
const defaultPingCount = 4;
const defaultPingCountUntilDirect = 10;
const defaultPingTimeoutS = 2;

/** Where the commands write; tests pass their own. */
export interface CommandIo {
  out(s: string): void;
  err(s: string): void;
  setExitCode(code: number): void;
}

const processIo: CommandIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  setExitCode: (code) => {
    process.exitCode = code;
  },
};

function parseCount(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 1 || n > maxPingCount) throw new InvalidArgumentError(`must be an integer 1..${maxPingCount}`);
  return n;
}

function parseTimeoutS(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || n * 1000 > maxPingTimeoutMs) throw new InvalidArgumentError(`must be seconds, more than 0 and at most ${maxPingTimeoutMs / 1000}`);
  return n;
}

/** --socket if given; else the peer's socket in the state dir, or the hub's if only that exists. */
function statusSocket(stateDir: string, socket: string | undefined): string {
  if (socket) return socket;
  const peer = defaultSocketPath(stateDir, 'peer');
  const hub = defaultSocketPath(stateDir, 'hub');
  return !existsSync(peer) && existsSync(hub) ? hub : peer;
}

function reportError(io: CommandIo, e: unknown): void {
  io.err(`meshd: ${e instanceof Error ? e.message : String(e)}\n`);
  io.setExitCode(1);
}

export function registerStatusCommand(program: Command, io: CommandIo = processIo): Command {
  return program
    .command('status')
    .description("show a running daemon's peers, paths and traffic (or the hub's members)")
    .option('--state-dir <dir>', "the daemon's state directory; its control socket is <dir>/peer.sock or hub.sock", defaultStateDir)
    .option('--socket <path>', 'the control socket, overriding --state-dir')
    .option('--json', 'print the status JSON as the daemon sent it')
    .action(async (opts: { stateDir: string; socket?: string; json?: boolean }) => {
      try {
        const status = await fetchStatus(statusSocket(opts.stateDir, opts.socket));
        io.out(opts.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      } catch (e) {
        reportError(io, e);
      }
    });
}

export function registerPingCommand(program: Command, io: CommandIo = processIo): Command {
  return program
    .command('ping')
    .description('ping a peer through the overlay and show the path each pong took (asks the local peer daemon)')
    .argument('<peer>', 'peer name or overlay address, e.g. b or 10.9.0.3')
    .option('--count <n>', `pings to send (default ${defaultPingCount}; ${defaultPingCountUntilDirect} with --until-direct)`, parseCount)
    .option('--until-direct', 'stop at the first pong over a direct or LAN path; exit 1 if none came')
    .option('--timeout <s>', `seconds to wait for each pong (default ${defaultPingTimeoutS})`, parseTimeoutS)
    .option('--state-dir <dir>', "the peer daemon's state directory (control socket <dir>/peer.sock)", defaultStateDir)
    .option('--socket <path>', 'the control socket, overriding --state-dir')
    .action(async (target: string, opts: { count?: number; untilDirect?: boolean; timeout?: number; stateDir: string; socket?: string }) => {
      const untilDirect = opts.untilDirect === true;
      const count = opts.count ?? (untilDirect ? defaultPingCountUntilDirect : defaultPingCount);
      const timeoutMs = Math.round((opts.timeout ?? defaultPingTimeoutS) * 1000);
      try {
        const summary = await requestPing(opts.socket ?? defaultSocketPath(opts.stateDir, 'peer'), target, { count, untilDirect, timeoutMs }, (r) =>
          io.out(`${formatPingReply(target, r)}\n`),
        );
        io.out(`${formatPingSummary(summary, untilDirect)}\n`);
        if (summary.received === 0 || (untilDirect && !summary.direct)) io.setExitCode(1);
      } catch (e) {
        reportError(io, e);
      }
    });
}

/** What `meshd hub release` and `meshd hub revoke` print for each key they affected. */
interface KeyOutcome {
  publicKey: string;
  overlay: string;
  name: string;
  wasMember: boolean;
}

/** A `meshd hub` subcommand that sends one selector (NAME|ADDRESS|KEY) over the hub's control socket
 * and prints one line per key it affected (release and revoke). */
function registerKeyCommand(
  hub: Command,
  io: CommandIo,
  o: { name: string; description: string; verb: string; none: string; request: (socket: string, target: string) => Promise<unknown> },
): Command {
  return hub
    .command(o.name)
    .description(o.description)
    .argument('<target>', 'a peer name, an overlay address (10.9.0.3) or a base64 public key')
    // --state-dir is `meshd hub`'s own option (the hub's state directory, control socket <dir>/hub.sock).
    .addHelpText('after', `\n  --state-dir <dir>  the hub's state directory; its control socket is <dir>/hub.sock (default: ${defaultStateDir})`)
    .option('--socket <path>', 'the control socket, overriding --state-dir')
    .action(async (target: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ stateDir?: string; socket?: string }>();
      try {
        const done = (await o.request(opts.socket ?? defaultSocketPath(opts.stateDir ?? defaultStateDir, 'hub'), target)) as KeyOutcome[];
        if (done.length === 0) {
          io.err(`meshd: ${o.none.replace('%s', JSON.stringify(target))}\n`);
          io.setExitCode(1);
          return;
        }
        for (const b of done) io.out(`${o.verb} ${b.overlay || '-'} ${b.name === '' ? '-' : printableName(b.name)} key ${b.publicKey}${b.wasMember ? ' (was registered; removed)' : ''}\n`);
      } catch (e) {
        reportError(io, e);
      }
    });
}

/** `meshd hub release NAME|ADDRESS|KEY`, a subcommand of `meshd hub` (the daemon's own command). */
export function registerReleaseCommand(hub: Command, io: CommandIo = processIo): Command {
  return registerKeyCommand(hub, io, {
    name: 'release',
    description: "free a key's overlay address and name at the running hub (they are otherwise kept for that key)",
    verb: 'released',
    none: 'no binding matches %s',
    request: requestRelease,
  });
}

/** `meshd hub revoke NAME|ADDRESS|KEY`: the key loses its membership and every session, for good. */
export function registerRevokeCommand(hub: Command, io: CommandIo = processIo): Command {
  return registerKeyCommand(hub, io, {
    name: 'revoke',
    description: 'revoke a member at the running hub: its session dropped, its handshakes refused by the hub and every peer, kept across restarts',
    verb: 'revoked',
    none: 'nothing to revoke for %s (no such name, address or key, or already revoked)',
    request: requestRevoke,
  });
}

function parseTtl(v: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(v.trim());
  const ms = m ? Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'] : NaN;
  if (!(ms >= 1000 && ms <= maxInviteTtlMs)) throw new InvalidArgumentError('must be a duration like 30m, 24h or 7d (at most 365d)');
  return ms;
}

function parseUses(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 1 || n > maxInviteUses) throw new InvalidArgumentError(`must be an integer 1..${maxInviteUses}`);
  return n;
}

/** `meshd hub invite [NAME]`: the running hub records an invite in <state-dir>/invites.json and the
 * token is printed on stdout (alone on its line, for scripts); the details go to stderr. */
export function registerInviteCommand(hub: Command, io: CommandIo = processIo): Command {
  return hub
    .command('invite')
    .description('make a one-time invite token at the running hub: `meshd peer --join TOKEN` enrolls a machine without the network secret')
    .argument('[name]', 'the name the new peer gets (unless it gives --name)')
    .option('--ttl <duration>', 'how long the token is good for: 30m, 24h, 7d (default 24h)', parseTtl)
    .option('--uses <n>', 'how many machines may join with it (default 1)', parseUses)
    .option('--for-key <pubkey>', "bind the token to this peer public key (`meshd pubkey` on that machine): useless to anyone else, even if seen before use")
    .option('--address <host:port>', "the hub address to put in the token (default: the hub's --listen address unless it is 0.0.0.0; without one the peer needs --hub)")
    .addHelpText('after', `\n  --state-dir <dir>  the hub's state directory; its control socket is <dir>/hub.sock (default: ${defaultStateDir})`)
    .option('--socket <path>', 'the control socket, overriding --state-dir')
    .action(async (name: string | undefined, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ stateDir?: string; socket?: string; ttl?: number; uses?: number; forKey?: string; address?: string }>();
      try {
        const req: InviteCommand = {
          ...(name !== undefined ? { name } : {}),
          ...(opts.ttl !== undefined ? { ttlMs: opts.ttl } : {}),
          ...(opts.uses !== undefined ? { uses: opts.uses } : {}),
          ...(opts.forKey !== undefined ? { forKey: opts.forKey } : {}),
          ...(opts.address !== undefined ? { address: opts.address } : {}),
        };
        const inv = (await requestInvite(opts.socket ?? defaultSocketPath(opts.stateDir ?? defaultStateDir, 'hub'), req)) as { token: string; id: string; expires: string; uses: number; forKey: string | null; addresses: string[] };
        io.out(`${inv.token}\n`);
        io.err(`invite ${inv.id}: ${inv.uses} use${inv.uses === 1 ? '' : 's'}, expires ${inv.expires}${inv.forKey ? `, only for key ${inv.forKey}` : ''}; ${inv.addresses.length > 0 ? `hub ${inv.addresses.join(', ')}` : 'no hub address in the token: the peer needs --hub host:port'}\n`);
        io.err(`on the new machine: sudo meshd peer --join ${inv.token.slice(0, 16)}...\n`);
      } catch (e) {
        reportError(io, e);
      }
    });
}
