#!/usr/bin/env node
// The meshd command line: parses flags and the config file, builds the real adapters (UDP socket,
// TUN device, system clock, root logger) and starts a daemon. No protocol logic lives here.
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { pino } from 'pino';
import { options, type Role } from './config/schema.js';
import { parseHubConfig, parsePeerConfig, type ParseContext, type RawOptions } from './config/parse.js';
import { loadOrCreateKey } from './config/key-file.js';
import { decodeKey, encodeKey, generateKeyPair, keyPairFromPrivate } from './crypto/keys.js';
import { registerPingCommand, registerStatusCommand } from './ops/commands.js';
import { ConfigError, MeshdError } from './util/errors.js';
import type { Logger } from './util/log.js';

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
    cmd.addOption(new Option(flag, o.def ? `${o.doc} (default: ${o.def})` : o.doc));
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

const parseContext: ParseContext = {
  env: process.env,
  hostname: hostname().split('.')[0] ?? 'peer',
  readText: (p) => readFileSync(p, 'utf8'),
};

function rootLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid } });
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

async function runHub(flags: Record<string, unknown>): Promise<void> {
  const cfg = parseHubConfig(rawOptions(flags), parseContext);
  const log = rootLogger(cfg.logLevel);
  const { keyPair, created } = loadOrCreateKey(cfg.keyFile);
  const { startHubDaemon } = await import('./hub/run.js');
  const hub = await startHubDaemon(cfg, keyPair, log);
  log.info({ publicKey: encodeKey(keyPair.publicKey), keyCreated: created, listen: `${cfg.listen.address}:${cfg.listen.port}` }, 'hub started');
  runUntilSignal(hub, log);
}

async function runPeer(flags: Record<string, unknown>): Promise<void> {
  const cfg = parsePeerConfig(rawOptions(flags), parseContext);
  const log = rootLogger(cfg.logLevel);
  const { keyPair, created } = loadOrCreateKey(cfg.keyFile);
  const { startPeerDaemon } = await import('./peer/run.js');
  const peer = await startPeerDaemon(cfg, keyPair, log);
  log.info({ publicKey: encodeKey(keyPair.publicKey), keyCreated: created }, 'peer started');
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
    .version('0.1.0')
    .showSuggestionAfterError(false);

  addOptions(program.command('hub').description('run the hub: registration, peer map, hole punching, relay'), 'hub').action(runHub);
  addOptions(program.command('peer').description('run a peer: a TUN device on the overlay network'), 'peer').action(runPeer);

  program
    .command('genkey')
    .description('print a new base64 private key')
    .action(() => {
      process.stdout.write(`${encodeKey(generateKeyPair().privateKey)}\n`);
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
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error:') ? `meshd: ${s.slice(7)}` : s) });
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
    if (e instanceof MeshdError) fail(e.message);
    fail(`unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}

void main();
