// Where the reference ikcp.c is for the interop and differential tests, and whether it can be
// built: $MESHD_IKCP_DIR (CI fetches it with `npm pack node-kcp`, see .ci/run) or node-kcp in
// node_modules, plus gcc. `ikcpSkipReason` is '' when both are there.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../../..');

export const ikcpDir = [process.env.MESHD_IKCP_DIR, join(root, 'node_modules/node-kcp/src/kcp')].find(
  (d): d is string => d !== undefined && existsSync(join(d, 'ikcp.c')),
);

function hasGcc(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const ikcpSkipReason = !ikcpDir
  ? 'no ikcp.c: set MESHD_IKCP_DIR to a skywind3000/kcp checkout or install the devDependency node-kcp'
  : !hasGcc()
    ? 'no gcc to build the reference harness'
    : '';
