/**
 * Files are written to a temporary name in the target directory, synced, and
 * then given their final name: a crash leaves the old file or the new one,
 * never half of one (SPEC "Guarantees"). The mode is set on the open
 * descriptor, so a private file is never readable by others, whatever the
 * umask.
 *
 * How the final name is taken is the caller's `Publish`: a file the output
 * rule found absent is published with link(2), which never replaces, so a
 * file that appeared since the check is left alone (SPEC "Two processes at
 * once"); only a file that is meant to be replaced is renamed over.
 */
import { closeSync, fchmodSync, fstatSync, fsyncSync, linkSync, lstatSync, openSync, promises as fsPromises, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FilesystemError, InputTooLargeError, OutputAppearedError, UnreadableInputError } from '../errors';

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

/**
 * How long to wait for a step done by another thread before calling it
 * stalled: `ms`, or, in tests only, POCKETCA_TEST_STALL_MS.
 */
export function stallLimitMs(ms: number): number {
  const test = Number(process.env.POCKETCA_TEST_STALL_MS);
  return test > 0 ? test : ms;
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

/** Which file a name holds: its device and inode. */
export interface FileId {
  dev: number;
  ino: number;
}

/**
 * How a finished temporary file takes its final name.
 * - `replace`: renamed over whatever is there (the home's own files, outputs
 *   under --force).
 * - `create`: only if nothing is there. A file that appeared since the output
 *   rule checked the name is left alone: OutputAppearedError.
 * - `replace-checked`: replaces the file the output rule checked (`checked`)
 *   and nothing else; a different file there now is left alone
 *   (OutputAppearedError); none there is `create`. Between the last look and
 *   the rename there remain microseconds, not the seconds of a run.
 */
export type Publish = { mode: 'replace' } | { mode: 'create' } | { mode: 'replace-checked'; checked: FileId };
export const REPLACE: Publish = { mode: 'replace' };
export const CREATE: Publish = { mode: 'create' };

/** A file to write: its final path, content, mode and how it takes its name (default REPLACE). */
export interface FileToWrite {
  path: string;
  data: string | Buffer;
  mode: number;
  publish?: Publish;
}

const idOf = (st: { dev: number; ino: number }): FileId => ({ dev: st.dev, ino: st.ino });
const sameFile = (a: FileId, b: FileId): boolean => a.dev === b.dev && a.ino === b.ino;

function lstatIfExists(path: string): FileId | undefined {
  try {
    return idOf(lstatSync(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function appeared(path: string, what: 'appeared' | 'was replaced'): OutputAppearedError {
  return new OutputAppearedError(
    `${path} ${what} after it was checked (another program or pocketca run wrote it meanwhile): left as it is`,
    'see what wrote it, move it away or choose another output, then run the command again',
  );
}

/**
 * What a filesystem answers for an operation it does not have: link(2)
 * without hard links, chmod(2) without Unix modes. EPERM on FAT (vfat, the
 * USB stick the CA may live on), ENOTSUP/EOPNOTSUPP or ENOSYS on exFAT and
 * some FUSE and network filesystems.
 */
const NOT_ON_THIS_FILESYSTEM = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Give `temp` the name `path` only if nothing has it: link(2) fails with
 * EEXIST rather than replace. Where there are no hard links, the name is
 * claimed by an exclusive create (O_EXCL, which FAT honours) and the
 * finished file renamed over that empty claim: only a crash in that instant
 * leaves an empty file under the final name.
 */
function createOnly(temp: string, path: string): void {
  try {
    linkSync(temp, path);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') throw appeared(path, 'appeared');
    if (!NOT_ON_THIS_FILESYSTEM.has(code)) throw error;
  }
  let claim: number;
  try {
    claim = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw appeared(path, 'appeared');
    throw error;
  }
  closeSync(claim);
  checkpoint(`claimed:${basename(path)}`);
  renameSync(temp, path);
}

/** Give the finished temporary file its final name as `publish` says. The temporary name is gone afterwards, published or not. */
function publishFile(temp: string, path: string, publish: Publish): void {
  checkpoint(`before-rename:${basename(path)}`);
  try {
    if (publish.mode === 'replace') return renameSync(temp, path);
    if (publish.mode === 'replace-checked') {
      const there = lstatIfExists(path);
      if (there && !sameFile(there, publish.checked)) throw appeared(path, 'was replaced');
      if (there) return renameSync(temp, path);
    }
    createOnly(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Remove a file this run published, if the name still holds that very file
 * (a run that stops undoes its own half-written set, never someone else's).
 */
export function removePublished(path: string, id: FileId): void {
  try {
    const there = lstatIfExists(path);
    if (there && sameFile(there, id)) rmSync(path, { force: true });
  } catch {
    /* best effort: what stays is whole and recorded */
  }
}

/**
 * Filesystems without Unix modes (FAT, exFAT: the USB stick) refuse chmod
 * (EPERM, or ENOSYS through FUSE): every file there has the mode the mount
 * gives it. That is accepted when it lets no one but the owner do more than
 * `mode` allows (a private file on a stick mounted umask=077), and refused
 * when it would let others read a private file.
 */
function modeRefused(error: unknown, actual: number, mode: number, path: string): void {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (!NOT_ON_THIS_FILESYSTEM.has(code)) throw error;
  if ((actual & 0o077 & ~mode) === 0) return;
  throw new FilesystemError(
    `cannot write ${path}: its filesystem has no file modes (FAT?) and makes every file ${(actual & 0o777).toString(8).padStart(4, '0')}, readable by others`,
    'mount it so that only you can read its files (FAT, exFAT: the mount option umask=077), or write to another directory',
  );
}

/** Write `data` to `path` (temporary name, sync, then `publish`); returns the identity of the file now at `path`. */
export function writeFileAtomic(path: string, data: string | Buffer, mode: number, publish: Publish = REPLACE): FileId {
  const temp = tempPathFor(path);
  const fd = openSync(temp, 'wx', mode);
  let id: FileId;
  try {
    try {
      fchmodSync(fd, mode);
    } catch (error) {
      modeRefused(error, fstatSync(fd).mode, mode, path);
    }
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    id = idOf(fstatSync(fd));
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  publishFile(temp, path, publish);
  return id;
}

/**
 * writeFileAtomic for several files at once: their temporary copies are
 * written and synced in parallel on libuv's thread pool (the fsyncs are most
 * of an identity's cost), then published in the given order. The calling
 * thread is free meanwhile (`issue --batch` encodes the next identity).
 * All or none: when one cannot be published (a file appeared at its name),
 * those published before it are removed again; no temporary file is left.
 * Returns the published files' identities, in order. `failure` turns the
 * error of one file into what is thrown (the output rule's writeFailure).
 */
export async function writeFilesAtomic(
  files: readonly FileToWrite[],
  failure: (path: string, error: unknown) => unknown = (_, error) => error,
  signal?: AbortSignal,
): Promise<FileId[]> {
  const staged = await Promise.allSettled(files.map((f) => stageFileAtomic(f, signal)));
  const published: { path: string; id: FileId }[] = [];
  try {
    const failed = staged.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) throw failure(files[failed]!.path, (staged[failed] as PromiseRejectedResult).reason);
    // A run that gave up waiting (a stall) publishes nothing that finishes late.
    signal?.throwIfAborted();
    for (const [i, r] of staged.entries()) {
      if (r.status !== 'fulfilled') continue;
      try {
        published.push({ path: files[i]!.path, id: r.value.commit() });
      } catch (error) {
        throw failure(files[i]!.path, error);
      }
    }
    return published.map((p) => p.id);
  } catch (error) {
    for (const p of published) removePublished(p.path, p.id);
    throw error;
  } finally {
    for (const r of staged) if (r.status === 'fulfilled') r.value.discard();
  }
}

/** A file written and synced under a temporary name, not yet in place. */
export interface StagedFile {
  /** Publish it (after the checkpoint `before-rename:NAME`); returns the identity of the file now at its name. */
  commit(): FileId;
  /** Remove the temporary file, if it was not committed. */
  discard(): void;
}

/**
 * The first half of writeFilesAtomic for one file: its content written and
 * synced on the thread pool now, published later, when the caller is ready
 * for it to exist (`issue --batch` syncs the next password with the files of
 * the identity before, and publishes it just before recording its identity:
 * issue 13). Once `signal` is aborted, what finishes staging is removed.
 */
export async function stageFileAtomic(file: FileToWrite, signal?: AbortSignal): Promise<StagedFile> {
  const temp = tempPathFor(file.path);
  tempsInFlight.add(temp);
  let id: FileId;
  try {
    const handle = await fsPromises.open(temp, 'wx', file.mode);
    try {
      try {
        await handle.chmod(file.mode);
      } catch (error) {
        modeRefused(error, (await handle.stat()).mode, file.mode, file.path);
      }
      await handle.writeFile(typeof file.data === 'string' ? Buffer.from(file.data, 'utf8') : file.data);
      await handle.sync();
      // On this thread: a round trip through the thread pool would wait for the main thread between each step.
      id = idOf(fstatSync(handle.fd));
    } finally {
      await handle.close();
    }
    signal?.throwIfAborted();
  } catch (error) {
    rmSync(temp, { force: true });
    tempsInFlight.delete(temp);
    throw error;
  }
  let done = false;
  return {
    commit() {
      if (done) throw new RangeError(`${file.path}: staged file committed twice or after discard`);
      done = true;
      tempsInFlight.delete(temp);
      publishFile(temp, file.path, file.publish ?? REPLACE);
      return id;
    },
    discard() {
      if (done) return;
      done = true;
      tempsInFlight.delete(temp);
      rmSync(temp, { force: true });
    },
  };
}

/** Temporary files this process is staging (stageFileAtomic) and has not yet published or removed. */
const tempsInFlight = new Set<string>();

/**
 * Remove every temporary file still being staged: for a run that stops
 * waiting for a stalled write. Returns how many there were.
 */
export function removeTempFilesInFlight(): number {
  const temps = [...tempsInFlight];
  tempsInFlight.clear();
  for (const temp of temps) rmSync(temp, { force: true });
  return temps.length;
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
