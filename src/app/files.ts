/**
 * Files are written to a temporary name in the target directory, synced, and
 * renamed into place: a crash leaves the old file or the new one, never half
 * of one (SPEC "Guarantees"). The mode is set on the open descriptor, so a
 * private file is never readable by others, whatever the umask.
 */
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export const PRIVATE = 0o600;
export const PUBLIC = 0o644;

/** Test-only fault injection: POCKETCA_TEST_DIE_AT=<point> kills the process there. */
export function checkpoint(point: string): void {
  if (process.env.POCKETCA_TEST_DIE_AT === point) process.kill(process.pid, 'SIGKILL');
}

export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export function writeFileAtomic(path: string, data: string | Buffer, mode: number): void {
  const temp = tempPathFor(path);
  const fd = openSync(temp, 'wx', mode);
  try {
    fchmodSync(fd, mode);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  checkpoint(`before-rename:${basename(path)}`);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
