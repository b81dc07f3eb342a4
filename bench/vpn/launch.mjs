// How a bench row starts meshd: as the installed command does, through dist/cli.js's interpreter
// line (`#!/usr/bin/env -S [NAME=VALUE ...] node FLAGS`, src/cli.ts), so env sets the same variables
// and node gets the same flags. A tree whose first line is not that form runs under this node.
import { readFileSync } from 'node:fs';

/** The command and the arguments before meshd's own: `nodeExtra` goes to node after the line's flags. */
export function meshdLaunch(cliPath, nodeExtra = []) {
  const first = readFileSync(cliPath, 'utf8').split('\n', 1)[0];
  const m = /^#!\/usr\/bin\/env -S ((?:\S+=\S* )*node(?: \S+)*)$/.exec(first);
  if (!m) return { cmd: process.execPath, pre: [...nodeExtra, cliPath] };
  return { cmd: '/usr/bin/env', pre: ['-S', [m[1], ...nodeExtra].join(' '), cliPath] };
}
