#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1 --heap-growing-percent=50
// The meshd command line: parses flags and the config file, builds the real adapters (UDP socket,
// TUN device, system clock, root logger) and starts a daemon. No protocol logic lives here.
// The V8 flag above caps the young generation (1 MiB semi-spaces instead of up to 16): at tens of
// thousands of packets a second V8 otherwise grows it to ~45 MB of mostly garbage; with 2 MiB a KCP
// peer peaked at 96 MiB instead of 128 for the same transfer, and 1 MiB took another 5-8 MiB off
// both peers at 40 ms RTT (fewer dropped per-packet ArrayBuffers waiting for a scavenge; bench/vpn
// A/B, docs/BENCHMARKS.md "Issue 19, session 5"), at no measurable throughput or CPU cost.
// The second (issue 19 item 7) fixes V8's old-generation growth at 1.5x the live heap after each
// full GC instead of V8's own factor of up to 4x: a KCP receiver at 300 Mbit/s / 200 ms RTT kept
// ~20 MiB live but let 40 MiB of dead per-packet objects pile up before collecting (heap used 62 MiB,
// docs/BENCHMARKS.md "Issue 19, session 8"). It is no cap: the heap still grows with what is live.
// MALLOC_ARENA_MAX=2 keeps glibc from giving each of node's worker threads (V8's compiler and GC
// helpers, libuv's pool) a malloc arena of its own: a loaded peer had four, 1-4.5 MiB resident each,
// mostly freed zone memory the main thread never reuses (docs/BENCHMARKS.md "Issue 19, session 12").
// They must be given at launch (v8.setFlagsFromString and mallopt are too late: the threads and
// their arenas exist before any meshd code runs); `env -S` is coreutils >= 8.30.
import { Command, CommanderError, Option } from 'commander';
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { options, type Role } from './config/schema.js';
import { parseHubConfig, parsePeerConfig, type ParseContext, type RawOptions } from './config/parse.js';
import { loadOrCreateKey } from './config/key-file.js';
import { createSecretFile, generateSecretText } from './config/secret-file.js';
import { decodeKey, encodeKey, generateKeyPair, keyPairFromPrivate } from './crypto/keys.js';
import { registerInviteCommand, registerPingCommand, registerReleaseCommand, registerRevokeCommand, registerStatusCommand } from './ops/commands.js';
import { ConfigError, MeshdError } from './util/errors.js';
import type { Logger } from './util/log.js';
import { meshdVersion } from './util/version.js';

interface Stoppable {
  close(): Promise<void>;
}

const shutdownDeadlineMs = 2000;

function fail(message: string, code = 1): never {
  process.stderr.write(`meshd: ${message}\n`);
  process.exit(code);
}

/** camelCase config key -> the commander attribute of its flag. */
function addOptions(cmd: Command, role: Role): Command {
  for (const o of options.filter((x) => x.roles.includes(role))) {
    const flag = o.arg ? `${o.flag} <${o.arg}>` : o.flag;
    const opt = new Option(flag, o.def ? `${o.doc} (default: ${o.def})` : o.doc);
    // --publish, --cluster and --hub repeat: collect every occurrence.
    if (o.key === 'publish' || o.key === 'cluster' || o.key === 'hub') opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(opt);
  }
  return cmd;
}

function readConfigFile(path: string): RawOptions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('--config', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('--config', `${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError('--config', `${path} must hold a JSON object`);
  const raw = { ...(parsed as Record<string, unknown>) };
  delete raw.$comment;
  return raw;
}

/** Config file keys first, then flags given on the command line. */
function rawOptions(flags: Record<string, unknown>): RawOptions {
  const fromFile = typeof flags.config === 'string' ? readConfigFile(flags.config) : {};
  const merged: Record<string, unknown> = { ...fromFile };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined && k !== 'config') merged[k] = v;
  return merged;
}

interface Notice {
  level: 'warn' | 'info';
  msg: string;
  fields: Record<string, unknown>;
}

/** The parser's view of this machine. The hub may create the default secret file; notices (a
 * created secret, loose permissions, an exposed metrics page) are logged once the logger exists. */
function parseContextFor(role: Role, notices: Notice[] = []): ParseContext {
  return {
    env: process.env,
    hostname: hostname().split('.')[0] ?? 'peer',
    readText: (p) => readFileSync(p, 'utf8'),
    fileMode: (p) => {
      try {
        return statSync(p).mode;
      } catch {
        return undefined;
      }
    },
    ...(role === 'hub' ? { createSecret: createSecretFile } : {}),
    notice: (level, msg, fields = {}) => void notices.push({ level, msg, fields }),
  };
}

function logNotices(log: Logger, notices: readonly Notice[]): void {
  for (const n of notices) log[n.level](n.fields, n.msg);
}

/**
 * The root logger and every child made from it (pino children copy the level when created and do
 * not follow the parent), so that SIGHUP can change the level of all of them at run time.
 */
function rootLogger(level: string): { log: Logger; setLevel(level: string): void } {
  const children = new Set<WeakRef<Logger>>();
  const log = pino({ level, base: { pid: process.pid }, onChild: (c) => void children.add(new WeakRef(c)) });
  return {
    log,
    setLevel(next: string) {
      log.level = next;
      for (const ref of children) {
        const c = ref.deref();
        if (c === undefined) children.delete(ref);
        else c.level = next;
      }
    },
  };
}

/** Config keys SIGHUP applies at run time; every other change is logged as needing a restart. */
const reloadableKeys = new Set(['logLevel']);

/** The top-level keys whose values differ (secret compared, never logged). */
function changedKeys(a: object, b: object): string[] {
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  return [...keys].filter((k) => JSON.stringify(ra[k]) !== JSON.stringify(rb[k])).sort();
}

/**
 * SIGHUP: re-reads the config file (and the flags, which still override it) with the same parser
 * as at start. A file that no longer parses is logged and ignored: the daemon keeps running as is.
 */
function reloadOnHangup<C extends { logLevel: string }>(flags: Record<string, unknown>, parse: (raw: RawOptions) => C, initial: C, logger: ReturnType<typeof rootLogger>): void {
  let current = initial;
  const log = logger.log;
  process.on('SIGHUP', () => {
    if (typeof flags.config !== 'string') {
      log.info('SIGHUP: no --config file given; nothing to reload');
      return;
    }
    let next: C;
    try {
      next = parse(rawOptions(flags));
    } catch (e) {
      log.error({ config: flags.config, err: e instanceof Error ? e.message : String(e) }, 'SIGHUP: config not reloaded; keeping the running one');
      return;
    }
    const changed = changedKeys(current, next);
    const applied = changed.filter((k) => reloadableKeys.has(k));
    const needsRestart = changed.filter((k) => !reloadableKeys.has(k));
    const level = { from: current.logLevel, to: next.logLevel };
    if (applied.includes('logLevel')) logger.setLevel(next.logLevel);
    // Keep the running values of what was not applied, so a later SIGHUP reports them again.
    current = { ...current, logLevel: next.logLevel };
    // warn, so the line shows even when the new level is quieter than info.
    log.warn({ config: flags.config, applied, needsRestart, logLevel: level }, needsRestart.length > 0 ? 'SIGHUP: config reloaded; some changes need a restart' : 'SIGHUP: config reloaded');
  });
}

function runUntilSignal(daemon: Stoppable, log: Logger): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      log.flush();
      process.exit(1);
    }, shutdownDeadlineMs);
    daemon
      .close()
      .then(() => {
        clearTimeout(force);
        log.info('stopped');
        log.flush();
        process.exit(0);
      })
      .catch((e: unknown) => {
        log.error({ err: e }, 'error while stopping');
        log.flush();
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/**
 * The crypto of every session and handshake: the crypto addon's C on Node's OpenSSL when it loads,
 * else node:crypto; same bytes either way. The AEAD of sessions (crypto/session.ts: ~6x less CPU
 * than node:crypto's cipher object per packet; a third of the hub's CPU while streaming maps) and
 * the Noise primitives of handshakes (crypto/noise.ts: X25519 without KeyObject imports,
 * HMAC-BLAKE2s without createHmac; a hub's rekey wave is handshakes). crypto/native.ts runtimeCrypto
 * makes the choice once for hub and peer alike, and each Link runs on it (LinkOptions.crypto); the
 * user's switch MESHD_NODE_CRYPTO=1 keeps node:crypto. Here it is only named for the start-up log.
 */
async function cryptoInUse(): Promise<{ aead: 'native' | 'node'; noise: 'native' | 'node' }> {
  const { runtimeCrypto } = await import('./crypto/native.js');
  return runtimeCrypto({ nodeCrypto: process.env['MESHD_NODE_CRYPTO'] === '1' }).names;
}

async function runHub(flags: Record<string, unknown>): Promise<void> {
  const notices: Notice[] = [];
  const cfg = parseHubConfig(rawOptions(flags), parseContextFor('hub', notices));
  const logger = rootLogger(cfg.logLevel);
  const log = logger.log;
  logNotices(log, notices);
  reloadOnHangup(flags, (raw) => parseHubConfig(raw, parseContextFor('hub')), cfg, logger);
  const { keyPair, created } = loadOrCreateKey(cfg.keyFile);
  const cryptoBackends = await cryptoInUse();
  const { startHubDaemon } = await import('./hub/run.js');
  const hub = await startHubDaemon(cfg, keyPair, log);
  process.on('SIGHUP', () => hub.reloadFiles());
  const publicKey = encodeKey(keyPair.publicKey);
  // The hub key is what a peer should be started with (--hub-key): trust on first use is the fallback.
  log.info({ publicKey, keyCreated: created, crypto: cryptoBackends, listen: `${cfg.listen.address}:${cfg.listen.port}`, join: `meshd peer --hub <this host>:${cfg.listen.port} --hub-key ${publicKey}` }, 'hub started');
  runUntilSignal(hub, log);
}

async function runPeer(flags: Record<string, unknown>): Promise<void> {
  const notices: Notice[] = [];
  const cfg = parsePeerConfig(rawOptions(flags), parseContextFor('peer', notices));
  const logger = rootLogger(cfg.logLevel);
  const log = logger.log;
  logNotices(log, notices);
  reloadOnHangup(flags, (raw) => parsePeerConfig(raw, parseContextFor('peer')), cfg, logger);
  const { keyPair, created } = loadOrCreateKey(cfg.keyFile);
  const cryptoBackends = await cryptoInUse();
  const { startPeerDaemon, resolveHub } = await import('./peer/run.js');
  // --join: redeem the invite before anything else (issue 25); a refusal is one line and exit 1.
  if (cfg.join !== undefined) {
    const { joinIfNeeded } = await import('./peer/join-run.js');
    try {
      await joinIfNeeded(cfg, await resolveHub(cfg.hub.host, cfg.hub.port), keyPair, log);
    } catch (e) {
      log.error({ code: (e as MeshdError).code }, `join failed: ${e instanceof Error ? e.message : String(e)}`);
      log.flush();
      process.exit(1);
    }
  }
  // startPeerDaemon waits for the first REGISTER_OK, which a refusing hub can hold back for as long
  // as the operator takes (the peer retries, H1): a stop meanwhile is a clean exit 0. Nothing is
  // registered to say goodbye to, and the kernel removes a TUN device with its last file descriptor.
  const early = (signal: NodeJS.Signals): void => {
    log.info({ signal }, 'shutting down before the first registration');
    log.flush();
    process.exit(0);
  };
  process.once('SIGINT', early);
  process.once('SIGTERM', early);
  const peer = await startPeerDaemon(cfg, keyPair, log);
  process.off('SIGINT', early);
  process.off('SIGTERM', early);
  log.info({ publicKey: encodeKey(keyPair.publicKey), keyCreated: created, crypto: cryptoBackends }, 'peer started');
  runUntilSignal(peer, log);
  // The TUN device deleted from outside (or failing) ends the daemon: say so and exit non-zero so
  // that systemd's Restart=on-failure brings it back with a fresh device.
  void peer.failed.then(async (err) => {
    log.error({ code: (err as MeshdError).code, err: err.message }, 'TUN device failed; exiting');
    await peer.close().catch(() => {});
    log.flush();
    process.exit(1);
  });
}

/** `meshd demo`: the whole network on this machine (demo/run.ts); exits when it is done. */
async function runDemoCommand(opts: { check?: boolean }): Promise<void> {
  const { runDemo } = await import('./demo/run.js');
  const script = process.argv[1] ?? '';
  const code = await runDemo({
    check: opts.check === true,
    cliPath: fileURLToPath(import.meta.url),
    meshdCommand: basename(script) === 'meshd' ? 'meshd' : `${basename(process.execPath)} ${script}`,
  });
  process.exit(code);
}

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}

export function buildProgram(): Command {
  const program = new Command('meshd')
    .description('a userspace mesh VPN: a hub on a VPS, peers behind NATs, KCP over encrypted UDP')
    .version(meshdVersion)
    .showSuggestionAfterError(false)
    // Before the subcommands exist: commander copies these settings only into commands made later,
    // and a usage error in `meshd peer --bogus` must read "meshd: ..." and exit 2 like the others.
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error: ') ? `meshd: ${s.slice(7)}` : s) });

  const hub = addOptions(program.command('hub').description('run the hub: registration, peer map, hole punching, relay'), 'hub').action(runHub);
  registerReleaseCommand(hub);
  registerRevokeCommand(hub);
  registerInviteCommand(hub);
  addOptions(program.command('peer').description('run a peer: a TUN device on the overlay network'), 'peer').action(runPeer);

  program
    .command('genkey')
    .description('print a new base64 private key')
    .action(() => {
      process.stdout.write(`${encodeKey(generateKeyPair().privateKey)}\n`);
    });
  program
    .command('gensecret')
    .description('print a new network secret (base64 of 32 random bytes): meshd gensecret > /etc/meshd/secret')
    .action(() => {
      process.stdout.write(`${generateSecretText()}\n`);
    });
  program
    .command('pubkey')
    .description('read a private key on stdin, print its public key')
    .action(() => {
      const text = readStdin().trim();
      if (!text) fail('pubkey: give a private key on stdin (meshd genkey | meshd pubkey)');
      let priv: Uint8Array;
      try {
        priv = decodeKey(text, 'private key');
      } catch {
        fail('pubkey: stdin does not hold a base64 X25519 private key');
      }
      process.stdout.write(`${encodeKey(keyPairFromPrivate(priv).publicKey)}\n`);
    });
  registerStatusCommand(program);
  registerPingCommand(program);
  addOptions(program.command('netcheck').description("print this machine's NAT class as the hub sees it (mapping, filtering, port allocation, port mapping, hub RTT per port)"), 'peer')
    .option('--json', 'print JSON')
    .action(runNetcheckCommand);
  program
    .command('demo')
    .description('try meshd on this machine (root): a hub and two peers behind two NAT routers in network namespaces, until Ctrl-C')
    .option('--check', 'exit after the checks: 0 if the peers reached each other directly and pings were answered')
    .action(runDemoCommand);
  return program;
}

/** `meshd netcheck`: the peer's flags (--hub, --secret-file, --probe-port...), fresh sockets only. */
async function runNetcheckCommand(flags: Record<string, unknown>): Promise<void> {
  const { json, ...peerFlags } = flags;
  const cfg = parsePeerConfig(rawOptions(peerFlags), parseContextFor('peer'));
  const { resolveHub } = await import('./peer/run.js');
  const { runNetcheck, formatNetcheck } = await import('./nat/netcheck.js');
  const { detectPortMapping } = await import('./nat/port-map.js');
  const { openUdpSocket } = await import('./net/udp-open.js');
  const { pskFromSecret } = await import('./crypto/psk.js');
  const { systemClock, systemWallClock } = await import('./util/clock.js');
  const hub = await resolveHub(cfg.hub.host, cfg.hub.port);
  const probePort = cfg.probePort || (hub.port < 65535 ? hub.port + 1 : 0);
  const report = await runNetcheck({
    hub, probePort, psk: pskFromSecret(cfg.secret), clock: systemClock, wallClock: systemWallClock,
    openFresh: () => openUdpSocket({ address: '0.0.0.0', port: 0 }, { impl: 'node', recvBufferBytes: 1 << 16, sendBufferBytes: 1 << 16 }),
    portMap: () => detectPortMapping({ openSocket: () => openUdpSocket({ address: '0.0.0.0', port: 0 }, { impl: 'node' }) }),
  });
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatNetcheck(report));
  process.exitCode = report.udp ? 0 : 1;
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
    if (e instanceof MeshdError) fail(e.message);
    fail(`unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}

void main();
