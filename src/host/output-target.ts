/**
 * The one output rule (SPEC "Outputs never destroy what is not theirs";
 * STYLE "One output rule"): where a command may write a file the user named,
 * and whether it may replace what is there. Every writer resolves its outputs
 * here before it signs or records anything, and writes them with writeOutput.
 *
 * - Nothing resolves into the CA home (real path, symbolic links followed,
 *   and the same directory or file reached by another path: bind mounts,
 *   hard links), with or without --force. The home's own files are written
 *   by the commands that manage them, never through a user-named path.
 * - An existing regular file is replaced only when it holds the same kind of
 *   object (the rule's `sameKind`), or with --force.
 * - A device, a FIFO, `/dev/stdout` or a `>(...)` pipe is written through
 *   (opened and written), never renamed over. `-` is stdout.
 * - A regular file is written to a temporary name and then put in place
 *   (writeFileAtomic), in the directory of its real path, so a symbolic link
 *   keeps pointing at the new file. What was checked is what is replaced: a
 *   name that was free is taken only while it still is (link(2), never a
 *   rename over a file that appeared meanwhile), a file that may be replaced
 *   only while it is the file that was checked (SPEC "Two processes at
 *   once"); --force replaces whatever is there.
 */
import { accessSync, closeSync, constants as fs, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, realpathSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { FilesystemError, InvalidOutputPathError, OutputExistsError, PocketcaError, UsageError } from '../errors';
import { CREATE, describeFsError, REPLACE, tempPathFor, writeFileAtomic, type Publish } from './files';

/** Where `-` goes: the command's stdout (only src/cli touches the process). */
export type StdoutSink = (data: Buffer) => void;

export interface OutputRule {
  /** The flag or argument that named the path, for messages: '--out', '--png', 'FILE'. */
  flag: string;
  /** What the command writes there, for the refusal: 'a CRL of this CA'. */
  what: string;
  /**
   * Whether an existing file's bytes hold the same kind of object, so it may
   * be replaced without --force: true, false, or a sentence saying why not
   * ("holds the certificate phone uses now").
   */
  sameKind: (existing: Buffer) => boolean | string;
  /** Replace anything outside the home; default false. */
  force: boolean;
  /** The hint when an existing file is refused; default: another path or --force. */
  existsHint?: string;
  /** `-` writes here; undefined: `-` is refused. */
  stdout?: StdoutSink;
  /** Bytes of an existing file read for sameKind; a larger file is not the same kind. Default 4 MiB. */
  maxBytes?: number;
}

export type OutputTarget =
  /** `-`. */
  | { kind: 'stdout'; path: '-'; sink: StdoutSink }
  /** A device or a FIFO: opened and written in place. */
  | { kind: 'through'; path: string }
  /** /dev/stdout, /dev/fd/N: the descriptor the shell opened, written as it is (a pipe, a socket, a file at its offset). */
  | { kind: 'descriptor'; path: string; fd: number }
  /**
   * A regular file (new or replaced) at its real path: temporary name, then
   * published as `publish` says (what the check found: a free name, that file, or --force).
   */
  | { kind: 'file'; path: string; replaces: boolean; publish: Publish };

export interface OutputDir {
  path: string;
  /** False when the command creates it (its parent exists) when it writes. */
  exists: boolean;
}

/** The real path of the home (or its absolute path while it does not exist) and its inode. */
interface HomeId {
  dir: string;
  real: string;
  stat: Stats | undefined;
}

function homeId(homeDir: string): HomeId {
  const dir = resolve(homeDir);
  try {
    return { dir, real: realpathSync(dir), stat: statSync(dir) };
  } catch {
    return { dir, real: dir, stat: undefined };
  }
}

const within = (parent: string, path: string): boolean => {
  const rel = relative(parent, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};
const sameInode = (a: Stats, b: Stats): boolean => a.dev === b.dev && a.ino === b.ino;

/** True when `real` (a real path; `st` its stat when it exists) is the home, in it, or one of its files by another name. */
function isInHome(home: HomeId, real: string, st?: Stats): boolean {
  if (within(home.real, real) || within(home.dir, real)) return true;
  if (!home.stat) return false;
  // The same directory by another path (a bind mount): compare inodes up the tree.
  for (let dir = st?.isDirectory() ? real : dirname(real); ; dir = dirname(dir)) {
    try {
      if (sameInode(statSync(dir), home.stat)) return true;
    } catch {
      /* an unreadable ancestor: the path check above stands */
    }
    if (dirname(dir) === dir) break;
  }
  // A hard link to a file of the home.
  if (st?.isFile() && st.nlink > 1) {
    try {
      return readdirSync(home.real).some((name) => {
        try {
          return sameInode(statSync(join(home.real, name)), st);
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  }
  return false;
}

function insideHome(flag: string, path: string, home: HomeId): InvalidOutputPathError {
  return new InvalidOutputPathError(
    `${label(flag)}${path} is inside the CA home ${home.dir}; pocketca writes its own files there and nothing else`,
    'write it somewhere outside the CA home',
  );
}

const label = (flag: string): string => (flag ? `${flag}: ` : '');

/**
 * Why writing `path` fails, as an error naming it: a path that cannot be
 * (missing directory, not a directory) is bad input, exit 2; the filesystem
 * refusing (permission, read-only, full) is exit 1.
 */
export function writeFailure(path: string, error: unknown, flag = ''): PocketcaError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = `${label(flag)}cannot write ${path}`;
  if (code === 'ENOENT') {
    return new InvalidOutputPathError(`${where}: directory ${dirname(path)} does not exist`, `create it first: mkdir -p ${dirname(path)}`);
  }
  if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG') {
    return new InvalidOutputPathError(`${where}: ${describeFsError(error)}`);
  }
  return new FilesystemError(`${where}: ${describeFsError(error)}`);
}

/** A directory the command may create files in: it exists and a file can be made there (probed, then removed). */
function probeDirectory(dir: string, flag: string, forFile: string): void {
  let st: Stats;
  try {
    st = statSync(dir);
  } catch (error) {
    throw writeFailure(forFile, error, flag);
  }
  if (!st.isDirectory()) throw new InvalidOutputPathError(`${label(flag)}cannot write ${forFile}: ${dir} is not a directory`);
  const probe = tempPathFor(join(dir, 'probe'));
  try {
    closeSync(openSync(probe, 'wx', 0o600));
  } catch (error) {
    // The directory is there, so ENOENT is the file system refusing new files (/proc, /sys).
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FilesystemError(`${label(flag)}cannot write ${forFile}: ${dir} does not accept new files`);
    }
    throw writeFailure(forFile, error, flag);
  }
  rmSync(probe, { force: true });
}

/** /dev/stdout, /dev/fd/N, /proc/self/fd/N: a descriptor of this process the shell opened, not a place to rename over. */
function descriptorOf(path: string): number | undefined {
  if (path === '/dev/stdout') return 1;
  if (path === '/dev/stderr') return 2;
  const m = /^\/(?:dev\/fd|proc\/(?:self|thread-self|(\d+))\/fd)\/(\d+)$/.exec(path);
  if (!m || (m[1] !== undefined && Number(m[1]) !== process.pid)) return undefined;
  return Number(m[2]);
}

function readHead(path: string, max: number): Buffer | undefined {
  const fd = openSync(path, fs.O_RDONLY | fs.O_NOFOLLOW);
  try {
    const size = statSync(path).size;
    if (size > max) return undefined;
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** The output path's stat, or undefined when nothing is there yet; any other failure names the path. */
function statIfExists(path: string, flag: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw writeFailure(path, error, flag);
    return undefined;
  }
}

/**
 * Resolve one user-named output before anything is signed or recorded.
 * Throws InvalidOutputPathError (exit 2), FilesystemError or
 * OutputExistsError (exit 1); never changes anything but a probe file.
 */
export function resolveOutput(homeDir: string, given: string, rule: OutputRule): OutputTarget {
  const { flag } = rule;
  if (given === '') throw new InvalidOutputPathError(`${label(flag)}needs a file name (or - for stdout)`);
  if (given === '-') {
    if (!rule.stdout) throw new InvalidOutputPathError(`${label(flag)}this output cannot go to stdout (-)`);
    return { kind: 'stdout', path: '-', sink: rule.stdout };
  }
  const home = homeId(homeDir);
  const path = resolve(given);
  const st = statIfExists(path, flag);
  if (!st) {
    // A new file, or a symbolic link to a missing one: only a plain new name is written.
    let link = false;
    try {
      link = lstatSync(path).isSymbolicLink();
    } catch {
      /* nothing there */
    }
    if (link) throw new InvalidOutputPathError(`${label(flag)}${path} is a symbolic link to a missing file`, 'name the file itself');
    let realDir: string;
    try {
      realDir = realpathSync(dirname(path));
    } catch (error) {
      throw writeFailure(path, error, flag);
    }
    const real = join(realDir, basename(path));
    if (isInHome(home, real)) throw insideHome(flag, path, home);
    probeDirectory(realDir, flag, path);
    return { kind: 'file', path: real, replaces: false, publish: rule.force ? REPLACE : CREATE };
  }
  if (st.isDirectory()) throw new InvalidOutputPathError(`${label(flag)}${path} is a directory`, 'name a file in it');
  let real: string | undefined;
  try {
    real = realpathSync(path);
  } catch {
    // A pipe behind /dev/fd/N has no real path ("pipe:[1234]"): it is written through below.
  }
  if (real !== undefined && isInHome(home, real, st)) throw insideHome(flag, path, home);
  const fd = descriptorOf(path);
  if (fd !== undefined && !st.isDirectory() && !st.isBlockDevice()) return { kind: 'descriptor', path, fd };
  if (st.isCharacterDevice() || st.isFIFO()) {
    try {
      // Not opened here: closing a FIFO's write end would hand its reader an end of file.
      accessSync(path, fs.W_OK);
    } catch (error) {
      throw writeFailure(path, error, flag);
    }
    return { kind: 'through', path };
  }
  if (!st.isFile()) {
    throw new InvalidOutputPathError(`${label(flag)}${path} is ${st.isBlockDevice() ? 'a block device' : 'not a regular file'}; pocketca does not write there`);
  }
  const target = real ?? path;
  if (!rule.force) {
    let bytes: Buffer | undefined;
    try {
      bytes = readHead(target, rule.maxBytes ?? 4 * 1024 * 1024);
    } catch (error) {
      throw new FilesystemError(`${label(flag)}${path} exists and cannot be read to check what it holds: ${describeFsError(error)}`);
    }
    const same = bytes !== undefined && rule.sameKind(bytes);
    if (same !== true) {
      throw new OutputExistsError(
        `${path} already exists and ${typeof same === 'string' ? same : `is not ${rule.what}`}`,
        rule.existsHint ?? 'choose another file, move that one away, or pass --force to replace it',
      );
    }
  }
  probeDirectory(dirname(target), flag, path);
  return { kind: 'file', path: target, replaces: true, publish: rule.force ? REPLACE : { mode: 'replace-checked', checked: { dev: st.dev, ino: st.ino } } };
}

/**
 * Resolve an output directory (--out-dir): an existing directory outside the
 * home where files can be made, or a missing one whose parent is such a
 * directory (made by ensureOutputDir when the command writes).
 */
export function resolveOutputDir(homeDir: string, given: string, flag: string): OutputDir {
  if (given === '' || given === '-') throw new InvalidOutputPathError(`${label(flag)}needs a directory`);
  const home = homeId(homeDir);
  const path = resolve(given);
  const st = statIfExists(path, flag);
  if (st && !st.isDirectory()) throw new InvalidOutputPathError(`${flag}: ${path} is not a directory`, 'name a directory, or a new one to create');
  let real: string;
  try {
    real = st ? realpathSync(path) : join(realpathSync(dirname(path)), basename(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new InvalidOutputPathError(`${label(flag)}cannot make ${path}: its parent ${dirname(path)} does not exist`, `create it first: mkdir -p ${path}`);
    }
    throw writeFailure(path, error, flag);
  }
  if (isInHome(home, real, st)) throw insideHome(flag, path, home);
  if (st) {
    probeDirectory(real, flag, `${path}/`);
    return { path: real, exists: true };
  }
  probeDirectory(dirname(real), flag, path);
  return { path: real, exists: false };
}

/**
 * A directory that `mkdir -p` will make (init's and restore's home): its
 * nearest existing ancestor is a directory where files can be made. Checked
 * first because Node's recursive mkdirSync spins forever where the file
 * system answers ENOENT under an existing directory (/proc, /sys).
 */
export function checkCanMakeDirectory(path: string, flag: string): void {
  let ancestor = dirname(path);
  while (dirname(ancestor) !== ancestor) {
    try {
      lstatSync(ancestor);
      break;
    } catch {
      ancestor = dirname(ancestor);
    }
  }
  probeDirectory(ancestor, flag, path);
}

/** Make a missing output directory (only its last part: the parent was checked). */
export function ensureOutputDir(dir: OutputDir, mode: number): void {
  if (dir.exists) return;
  try {
    mkdirSync(dir.path, { mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(dir.path).isDirectory()) throw writeFailure(dir.path, error);
  }
  dir.exists = true;
}

/** Resolve the file `name` in an output directory: in a directory still to be made, it is new. */
export function resolveOutputIn(homeDir: string, dir: OutputDir, name: string, rule: OutputRule): OutputTarget {
  if (!dir.exists) return { kind: 'file', path: join(dir.path, name), replaces: false, publish: rule.force ? REPLACE : CREATE };
  return resolveOutput(homeDir, join(dir.path, name), rule);
}

/** Every byte to `fd`; a descriptor shared with Node's own streams may be non-blocking (EAGAIN: wait, then go on). */
function writeAll(fd: number, bytes: Buffer): void {
  let written = 0;
  while (written < bytes.length) {
    try {
      written += writeSync(fd, bytes, written, bytes.length - written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

const changedTarget = (path: string) =>
  new FilesystemError(`${path} changed since it was checked (now a link elsewhere?): nothing written there`, 'check who else can write there, then run the command again');

/**
 * A regular-file target's directory is still the real directory that was
 * checked. Between resolveOutput and the write the key was unlocked and
 * something signed (seconds): a directory someone else controls may have
 * become a link into the home since.
 */
export function checkTargetDirectory(target: OutputTarget & { kind: 'file' }): void {
  let real: string;
  try {
    real = realpathSync(dirname(target.path));
  } catch (error) {
    throw writeFailure(target.path, error);
  }
  if (real !== dirname(target.path)) throw changedTarget(target.path);
}

/** Write a resolved output. A failure is one error naming the path. */
export function writeOutput(target: OutputTarget, data: string | Buffer, mode: number): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (target.kind === 'stdout') {
    target.sink(bytes);
    return;
  }
  // The same for a FIFO: it may have become a link to a file of the home since it was checked.
  const changed = () => changedTarget(target.path);
  try {
    if (target.kind === 'file') {
      checkTargetDirectory(target);
      const written = writeFileAtomic(target.path, bytes, mode, target.publish);
      // Written again in this run (proxy's files), it replaces what it wrote, and only that.
      if (target.publish.mode !== 'replace') target.publish = { mode: 'replace-checked', checked: written };
      return;
    }
    if (target.kind === 'descriptor') {
      writeAll(target.fd, bytes);
      return;
    }
    // Blocks on a FIFO until a reader opens it, as a shell redirection does.
    const fd = openSync(target.path, fs.O_WRONLY | fs.O_NOCTTY);
    try {
      // Written through only if still a device or a FIFO: a regular file (say, a link to
      // ca.key.pem swapped in) would be overwritten in place.
      const st = fstatSync(fd);
      if (!st.isCharacterDevice() && !st.isFIFO()) throw changed();
      writeAll(fd, bytes);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    // Already one error naming the path (changed, appeared, a missing directory): as it is.
    if (error instanceof PocketcaError) throw error;
    throw writeFailure(target.path, error);
  }
}

/** Codes of a filesystem call that failed on a path the user can fix; anything else stays a bug (exit 70). */
const FS_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'ELOOP', 'ENAMETOOLONG', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'EEXIST', 'EIO', 'EBUSY', 'ENXIO', 'ETXTBSY', 'EMFILE', 'ENFILE']);
const BAD_PATH = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'ELOOP', 'ENAMETOOLONG']);

/**
 * A filesystem failure no command checked for (a home made read-only, a disk
 * that filled up), as one line naming the path: exit 2 for a path that cannot
 * be, 1 for the filesystem refusing; never "internal error" (SPEC "Everyday use").
 * src/cli/main.ts passes every unexpected error through here.
 */
export function asFilesystemError(error: unknown): PocketcaError | undefined {
  const e = error as NodeJS.ErrnoException | null;
  if (!e || typeof e.code !== 'string' || !FS_CODES.has(e.code) || typeof e.path !== 'string') return undefined;
  const message = `${e.path}: ${describeFsError(e)}`;
  return BAD_PATH.has(e.code) ? new UsageError(message) : new FilesystemError(message);
}
