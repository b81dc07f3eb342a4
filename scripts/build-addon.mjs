// Builds the addons in binding.gyp (TUN: src/tun/native; batched UDP: src/net/native; crypto:
// src/crypto/native; Reed-Solomon: src/fec/native; all with src/util/native/napi-addon.c) with node-gyp
// against the headers of the Node that runs this script, so `npm install` works offline on a fresh
// machine without any ~/.npmrc nodedir.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';

const nodedir = dirname(dirname(process.execPath));
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
  console.error(`meshd: Node headers not found under ${nodedir}/include/node; install the Node development headers`);
  process.exit(1);
}
const require = createRequire(import.meta.url);
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--loglevel=warn'], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
