// Gate for tests that need root, /dev/net/tun and network namespaces. Without them the tests skip
// with a one-line reason; under CI=true the same condition is a failure, so a green CI proves the
// end-to-end tests ran.
import { describe, it } from 'vitest';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

function missing(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (run npm test as root to include the e2e tests)';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
  for (const tool of ['ip', 'nft', 'ping']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `'${tool}' is not installed (see .ci/run)`;
  }
  return undefined;
}

export const rootMissing = missing();
export const isCI = process.env.CI === 'true';

/**
 * describe() for root-only suites: runs them when possible; otherwise skips them with the reason,
 * or, under CI=true, fails with it.
 */
export function describeRoot(name: string, body: () => void): void {
  if (rootMissing === undefined) {
    describe(name, body);
  } else if (isCI) {
    describe(name, () => {
      it('has what the e2e tests need', () => {
        throw new Error(`CI=true but e2e tests cannot run: ${rootMissing}`);
      });
    });
  } else {
    console.warn(`skipping "${name}": ${rootMissing}`);
    describe.skip(name, body);
  }
}

/** Extra tools a suite needs (e.g. ['iperf3', 'sshd']); same skip/fail rule as describeRoot. */
export function toolsMissing(tools: readonly string[]): string | undefined {
  for (const tool of tools) {
    if (spawnSync('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool}`]).status !== 0) return `'${tool}' is not installed`;
  }
  return undefined;
}
