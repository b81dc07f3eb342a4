// Writes a small state or secret file atomically and without following symlinks: a temporary file
// created O_EXCL|O_NOFOLLOW beside the target, written, fsynced, then renamed over the target
// (rename replaces a symlink planted at the target instead of writing through it); and reads one
// back with O_NOFOLLOW. Used for hub.pub (peer/hub-pin.ts), the hub's bindings (hub/binding-store.ts)
// and the generated network secret (config/secret-file.ts).
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

function writeTemp(path: string, data: string, mode: number): string {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  return tmp;
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Best effort: some filesystems refuse fsync on a directory.
  }
}

/** Replaces `path` with `data` (mode applies to the new file). Throws the fs error (code) on failure. */
export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  const tmp = writeTemp(path, data, mode);
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  syncDir(dirname(path));
}

/** Creates `path` with `data` only if nothing (not even a dangling symlink) is there: EEXIST
 * otherwise. Atomic: a reader sees no file or the whole file. */
export function createFileAtomic(path: string, data: string, mode = 0o600): void {
  const tmp = writeTemp(path, data, mode);
  try {
    linkSync(tmp, path);
  } finally {
    unlinkSync(tmp);
  }
  syncDir(dirname(path));
}

/** The file's text, or undefined when it does not exist. A symlink planted at the path is an error
 * (ELOOP), not a redirect; other errors are thrown as they come (callers name the file). */
export function readFileNoFollow(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
