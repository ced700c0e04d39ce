/**
 * Files are written to a temporary name in the target directory, synced, and
 * renamed into place: a crash leaves the old file or the new one, never half
 * of one (SPEC "Guarantees"). The mode is set on the open descriptor, so a
 * private file is never readable by others, whatever the umask.
 */
import { closeSync, fchmodSync, fsyncSync, openSync, promises as fsPromises, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InputTooLargeError, UnreadableInputError } from '../errors';

export const PRIVATE = 0o600;
export const PUBLIC = 0o644;

/**
 * Test-only fault injection: POCKETCA_TEST_DIE_AT=<point> kills the process
 * there; POCKETCA_TEST_PAUSE_AT=<point>@<ms> stops it there for a while, to
 * open a race window for another process on purpose.
 */
export function checkpoint(point: string): void {
  if (process.env.POCKETCA_TEST_DIE_AT === point) process.kill(process.pid, 'SIGKILL');
  const pause = process.env.POCKETCA_TEST_PAUSE_AT?.split('@');
  if (pause?.[0] === point) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(Number(pause[1]) || 0, 10_000));
}

export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** A file name tempPathFor made (or SQLite's -wal/-shm/-journal beside one): the file it was for and the writer's pid. */
export function parseTempName(name: string): { target: string; pid: number } | undefined {
  const m = /^\.(.+)\.tmp-(\d+)-[0-9a-f]{8}(?:-wal|-shm|-journal)?$/.exec(name);
  return m ? { target: m[1]!, pid: Number(m[2]) } : undefined;
}

/** Whether a process with this pid runs (one of another user counts: it may be writing). */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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

/**
 * writeFileAtomic for several files at once: their temporary copies are
 * written and synced in parallel on libuv's thread pool (the fsyncs are most
 * of an identity's cost), then renamed into place in the given order. The
 * calling thread is free meanwhile (`issue --batch` encodes the next
 * identity). On a failure no temporary file is left.
 */
export async function writeFilesAtomic(files: readonly { path: string; data: string | Buffer; mode: number }[]): Promise<void> {
  const staged = await Promise.allSettled(files.map((f) => stageFileAtomic(f)));
  try {
    const failed = staged.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const r of staged) if (r.status === 'fulfilled') r.value.commit();
  } finally {
    for (const r of staged) if (r.status === 'fulfilled') r.value.discard();
  }
}

/** A file written and synced under a temporary name, not yet in place. */
export interface StagedFile {
  /** Rename it into place (after the checkpoint `before-rename:NAME`). */
  commit(): void;
  /** Remove the temporary file, if it was not committed. */
  discard(): void;
}

/**
 * The first half of writeFilesAtomic for one file: its content written and
 * synced on the thread pool now, renamed into place later, when the caller
 * is ready for it to exist (`issue --batch` syncs the next password with the
 * files of the identity before, and renames it just before recording its
 * identity: issue 13).
 */
export async function stageFileAtomic(file: { path: string; data: string | Buffer; mode: number }): Promise<StagedFile> {
  const temp = tempPathFor(file.path);
  try {
    const handle = await fsPromises.open(temp, 'wx', file.mode);
    try {
      await handle.chmod(file.mode);
      await handle.writeFile(typeof file.data === 'string' ? Buffer.from(file.data, 'utf8') : file.data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  let done = false;
  return {
    commit() {
      if (done) return;
      done = true;
      checkpoint(`before-rename:${basename(file.path)}`);
      try {
        renameSync(temp, file.path);
      } catch (error) {
        rmSync(temp, { force: true });
        throw error;
      }
    },
    discard() {
      if (done) return;
      done = true;
      rmSync(temp, { force: true });
    },
  };
}

/** Why a file cannot be read, in words rather than errno codes. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'EROFS':
      return 'read-only file system';
    case 'EEXIST':
      return 'it exists';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'no space left on the device';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    case 'ENXIO':
      return 'no process is reading it (a FIFO without a reader, or a socket)';
    case 'EBUSY':
      return 'the device or file is busy';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'EIO':
      return 'input/output error (a failing disk or a removed stick?)';
    default:
      return code ?? String((error as Error | undefined)?.message ?? error);
  }
}

export interface BoundedRead {
  /** The most bytes accepted; a larger file is InputTooLargeError (exit 2) before it is read. */
  max: number;
  /** What the file is, for messages: "CSR", "backup". */
  what: string;
  /** What size the file should have, for the too-large message: "a CSR is a few kilobytes". */
  expected: string;
}

/**
 * Read a whole input file of bounded size. Only regular files: a FIFO or a
 * device has no size to check and might never end. Every way it can fail is
 * UnreadableInputError or InputTooLargeError (exit 2), with the reason in words.
 */
export function readFileBounded(path: string, limit: BoundedRead): Buffer {
  const unreadable = (reason: string) => new UnreadableInputError(`cannot read ${limit.what} ${path}: ${reason}`);
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw unreadable('it is a directory');
    if (!st.isFile()) throw unreadable('not a regular file');
    size = st.size;
  } catch (error) {
    if (error instanceof UnreadableInputError) throw error;
    throw unreadable(describeFsError(error));
  }
  const tooLarge = (n: number) => new InputTooLargeError(`${limit.what} ${path} is ${n} bytes; ${limit.expected} (limit ${limit.max})`);
  if (size > limit.max) throw tooLarge(size);
  if (size === 0) throw unreadable('the file is empty');
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (error) {
    throw unreadable(describeFsError(error));
  }
  // It may have grown between stat and read.
  if (data.length > limit.max) throw tooLarge(data.length);
  return data;
}
