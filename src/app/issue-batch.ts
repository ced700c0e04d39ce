/**
 * `pocketca issue --batch FILE`: one identity per NAME in FILE, with the same
 * flags for all, the CA key unlocked once (SPEC "Many devices at once").
 *
 * Everything that can be refused is refused before the first identity: every
 * name (a bad one or a duplicate is exit 2), names whose files would be one
 * file (exit 2), existing output files, names that already have a valid
 * certificate (exit 1 unless --force, as for one `issue NAME`). Then the key
 * pairs are generated on libuv's thread pool, a bounded number in flight,
 * while this thread signs, encodes, records and writes the identities in
 * file order.
 *
 * Each identity is recorded in its own transaction before its files are
 * written (SPEC "Guarantees", per identity), with the one-certificate-per-
 * name rule inside that transaction, and its files never replace one that
 * appeared since the check (SPEC "Two processes at once"). A generated
 * password is in OUT_DIR/passwords.csv (rewritten whole, then put in place)
 * before its identity is recorded: a run killed in between leaves at most one
 * password for a device that was never issued, never an issued PKCS#12
 * without its password. A failure midway stops the run: the identities issued
 * so far stay complete and recorded, passwords.csv lists exactly them, and
 * the error says what became of the one in flight and names the ones that
 * remain. A step that waits on another thread for STALL_MS stops the run the
 * same way (issue 16: a batch once hung for minutes).
 */
import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { generatePassword } from '../ca/passwords';
import { validateName } from '../formats/names';
import { InvalidNameError, OperationFailedError, OutputExistsError, PocketcaError, StalledError, UsageError, ValidCertificateExistsError } from '../errors';
import { findByName, statusOf } from '../store/certificates';
import type { AppContext } from '../host/context';
import {
  checkpoint,
  CREATE,
  PRIVATE,
  readFileBounded,
  removePublished,
  removeTempFilesInFlight,
  REPLACE,
  stageFileAtomic,
  stallLimitMs,
  writeFileAtomic,
  writeFilesAtomic,
  type FileId,
  type FileToWrite,
  type StagedFile,
} from '../host/files';
import { ensureOutputDir } from '../host/output-target';
import { recordCertificate } from './issue-certificate';
import {
  buildIdentity,
  checkIssuable,
  loadEncoders,
  planIssue,
  refuseAppearedOutputs,
  resolveIdentityOutputs,
  resultOf,
  signerFor,
  validAlongside,
  writeIdentityFiles,
  type BuiltIdentity,
  type IssueParams,
  type IssuePlan,
  type IssueResult,
  type IssueSession,
} from './issue-identity';
import { takeKey } from '../host/key-pairs';
import { startPkcs12Deriver, type Pkcs12Deriver } from '../host/pkcs12-deriver';
import { unlockCaKey } from '../host/unlock';

/** A batch file: a name is at most 65 octets a line; a megabyte is some 15,000 devices. */
export const MAX_BATCH_BYTES = 1024 * 1024;
/** How many identities are built ahead of the one being written. */
const BUILT_AHEAD = 2;
/** The file generated PKCS#12 passwords go to, in the output directory. */
export const PASSWORDS_FILE = 'passwords.csv';
/**
 * How long one identity may wait for another thread (its key pair, its
 * PKCS#12 material from the worker, its files synced on the thread pool)
 * before the batch stops as stalled (issue 16: a batch hung for minutes with
 * its files half-staged). An RSA-4096 key on a slow, busy machine takes
 * seconds; two minutes without any progress is not slowness.
 */
export const STALL_MS = 120_000;

export interface BatchParams extends Omit<IssueParams, 'name' | 'cn'> {
  /** The file of names, one per line; blank lines and `#` comments are skipped. */
  batchFile: string;
  /** Called after each identity is complete (for a progress line). */
  onProgress?: (done: number, total: number, name: string) => void;
}

export interface BatchResult {
  issued: IssueResult[];
  /** OUT_DIR/passwords.csv, when passwords were generated. */
  passwordsPath?: string;
}

/** A name of a batch file and the line it is on. */
export interface BatchName {
  name: string;
  line: number;
}

/** The names in a batch file, in order, each checked; a bad one or a duplicate is exit 2 naming its line. */
export function parseBatchNames(text: string, file: string): BatchName[] {
  const names: BatchName[] = [];
  // Case-insensitive file systems (macOS, Windows) would give two names one file.
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const lineNo = index + 1;
    try {
      validateName(line);
    } catch (error) {
      if (error instanceof InvalidNameError) throw new InvalidNameError(`${file} line ${lineNo}: ${error.message}`, 'fix the line; nothing was issued');
      throw error;
    }
    const first = seen.get(line.toLowerCase());
    if (first !== undefined) throw new UsageError(`${file} line ${lineNo}: ${JSON.stringify(line)} is already on line ${first}`, 'each device once; nothing was issued');
    seen.set(line.toLowerCase(), lineNo);
    names.push({ name: line, line: lineNo });
  });
  if (names.length === 0) throw new UsageError(`${file} names no device`, 'one NAME per line; blank lines and lines starting with # are skipped');
  return names;
}

/**
 * How many key pairs are generated at once: one per core, leaving a thread
 * of libuv's pool (4 threads unless UV_THREADPOOL_SIZE says otherwise) for
 * the CA key's scrypt and the file work.
 */
function keysInFlight(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  // One thread stays free for the files' writes and syncs, which would otherwise wait behind RSA prime searches.
  return Math.max(1, Math.min(pool - 1, availableParallelism()));
}

/**
 * The key pairs for `count` identities, generated `width` at a time, each
 * started as soon as a slot frees. `stop()` starts no more.
 */
function keyPool(plan: IssuePlan, count: number, width: number): { keys: Promise<KeyObject>[]; stop: () => void } {
  const settle: { resolve: (key: KeyObject) => void; reject: (error: unknown) => void }[] = [];
  const keys = Array.from({ length: count }, () => new Promise<KeyObject>((resolve, reject) => settle.push({ resolve, reject })));
  for (const key of keys) key.catch(() => undefined); // a failure surfaces where the key is taken
  let next = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped && next < count) {
      const i = next++;
      try {
        settle[i]!.resolve(await takeKey(plan.keySpec));
      } catch (error) {
        settle[i]!.reject(error);
      }
    }
  };
  for (let w = 0; w < Math.min(width, count); w++) void worker();
  return { keys, stop: () => (stopped = true) };
}

const csvOf = (rows: readonly [string, string][]): string => ['name,password', ...rows.map(([name, password]) => `${name},${password}`)].join('\n') + '\n';

/** What each planned file is, for the collision message. */
const ROLE_WORDS: Record<string, string> = { cert: 'certificate', key: 'key', p12: 'PKCS#12', mobileconfig: 'profile', fullchain: 'full chain' };

/**
 * Two names of one batch whose files would have the same name (`web` and
 * `web.key`: web.key.pem is the first's key and the second's certificate)
 * are exit 2 before anything is issued (SPEC "Two processes at once"): the
 * second would otherwise replace the first's file, or, now that a name
 * taken meanwhile is never replaced, stop the batch midway. File names are
 * compared without case, as the duplicate names are: the output directory
 * may be on a filesystem that ignores case (a FAT USB stick, macOS, Windows),
 * where WEB.pem and web.pem are one file.
 */
export function refuseCollidingOutputs(names: readonly BatchName[], plans: readonly IssuePlan[], file: string, passwordsFile?: string): void {
  const owners = new Map<string, { entry?: BatchName; role: string; base: string }>();
  if (passwordsFile) owners.set(passwordsFile.toLowerCase(), { role: 'passwords', base: passwordsFile });
  plans.forEach((plan, i) => {
    for (const f of plan.files) {
      const base = basename(f.path);
      const first = owners.get(base.toLowerCase());
      const entry = names[i]!;
      if (!first) {
        owners.set(base.toLowerCase(), { entry, role: f.role, base });
        continue;
      }
      const what = (e: BatchName | undefined, role: string) => (e ? `${e.name}'s ${ROLE_WORDS[role] ?? role}` : 'the generated passwords');
      const where = first.entry ? `${JSON.stringify(first.entry.name)} (line ${first.entry.line}) and ` : '';
      const same = first.base === base ? base : `${first.base} and ${base} (one file where case is ignored)`;
      throw new UsageError(
        `${file}: ${where}${JSON.stringify(entry.name)} (line ${entry.line}) would write the same file, ${same}: ${what(first.entry, first.role)} and ${what(entry, f.role)}`,
        'rename one of the devices in the file; nothing was issued',
      );
    }
  });
}

export async function issueBatch(ctx: AppContext, p: BatchParams): Promise<BatchResult> {
  const text = readFileBounded(p.batchFile, { max: MAX_BATCH_BYTES, what: 'batch file', expected: 'a batch file names one device per line' }).toString('utf8');
  const entries = parseBatchNames(text, p.batchFile);
  const names = entries.map((e) => e.name);
  const plans = names.map((name) => planIssue({ ...p, name }));
  const generated = p.p12Password === undefined && p.profile === 'client';
  refuseCollidingOutputs(entries, plans, p.batchFile, generated ? PASSWORDS_FILE : undefined);
  const now = ctx.now();
  const ca = ctx.home.caCertificate();
  for (const plan of plans) checkIssuable(ca, plan, now);
  // Every file of every identity through the output rule, before anything is unlocked or signed.
  const dir = resolveIdentityOutputs(ctx, plans, p.outDir);
  const outDir = dir.path;
  const passwordsPath = generated ? join(outDir, PASSWORDS_FILE) : undefined;
  if (passwordsPath && !p.force && existsSync(passwordsPath)) {
    throw new OutputExistsError(`${passwordsPath} already exists`, 'move it away (it may hold the passwords of an earlier batch), or pass --force to replace it');
  }
  const db = ctx.home.database();
  if (!p.force) {
    // Early, before the passphrase and the keys; recordCertificate checks again in each identity's transaction.
    const iso = now.toISOString();
    const taken = names.filter((name) => findByName(db, name).some((row) => statusOf(row, iso) === 'valid'));
    if (taken.length > 0) {
      throw new ValidCertificateExistsError(
        `${taken.length === 1 ? 'this name already has' : `${taken.length} names already have`} a valid certificate: ${taken.join(', ')}`,
        `renew one with \`pocketca renew ${taken[0]}\`, leave them out of ${p.batchFile}, or pass --force to issue another anyway; nothing was issued`,
      );
    }
  }

  const command = plans[0]!.command;
  const pool = keyPool(plans[0]!, plans.length, keysInFlight());
  let deriver: Pkcs12Deriver | undefined;
  // Set when the batch stops waiting for a stalled step: what finishes late is then not published.
  const abort = new AbortController();
  const stallMs = stallLimitMs(STALL_MS);
  /** What each identity is waiting for while it is built, for the stall message. */
  const waiting: string[] = [];
  /** `promise`, or a StalledError naming the identity if it does not settle within stallMs. */
  const watch = <T>(promise: Promise<T>, i: number, what: () => string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        abort.abort();
        reject(new StalledError(`no progress for ${Math.round(stallMs / 1000)} s at ${names[i]} (${i + 1} of ${names.length}), waiting for ${what()}`));
      }, stallMs);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  const issued: IssueResult[] = [];
  const passwords: [string, string][] = [];
  /** passwords.csv as this run last published it (replaced only while it is still that file), and its number of rows. */
  let csv: { id: FileId; rows: number } | undefined;
  /** The next version of passwords.csv, synced, to be published before its identity is recorded. */
  let stagedCsv: { file: StagedFile; rows: number } | undefined;
  /** The identity in flight, once its certificate is recorded. */
  let recorded: BuiltIdentity | undefined;
  let at = 0;
  try {
    const encoders = await loadEncoders();
    const derive = (deriver = startPkcs12Deriver(encoders.preparePkcs12)).derive;
    const caKey = await unlockCaKey(ctx, command);
    const profileSigner = p.profile === 'client' && p.mobileconfig && p.signProfile ? await signerFor(ctx, caKey) : undefined;
    const session: IssueSession = { ctx, ca, caKey, db, encoders, ...(profileSigner ? { profileSigner } : {}) };
    // Every PKCS#12's password material is asked for now, derived on another core in file order.
    const passwordsAhead = plans.map(() => p.p12Password ?? generatePassword(ctx.randomBytes));
    const secretsAhead = p.profile === 'client' ? passwordsAhead.map((password) => derive(password, p.p12Format)) : [];
    for (const secrets of secretsAhead) secrets.catch(() => undefined);
    // Signing and encoding are pure: the identities ahead are built while the files of this one are synced on the thread pool.
    const build = async (i: number): Promise<BuiltIdentity> => {
      waiting[i] = 'its PKCS#12 password material from the worker thread';
      const secrets = await secretsAhead[i];
      waiting[i] = 'its key pair from the thread pool';
      const key = await pool.keys[i]!;
      return buildIdentity(session, plans[i]!, key, passwordsAhead[i]!, secrets);
    };
    // A new directory is 0700: it holds the PKCS#12s and the passwords.
    ensureOutputDir(dir, 0o700);
    // Identities are built (signed, encoded: pure, nothing on disk) up to BUILT_AHEAD ahead of the one
    // being written, so the main thread works while the thread pool syncs files (issue 13).
    const builds: Promise<BuiltIdentity>[] = [];
    const buildAhead = (upTo: number) => {
      for (let j = builds.length; j <= Math.min(upTo, plans.length - 1); j++) {
        builds.push(build(j));
        builds[j]!.catch(() => undefined);
      }
    };
    buildAhead(0);
    // The first version of passwords.csv takes a free name (never one that appeared since the check), later ones replace only it.
    const csvFile = (): FileToWrite => ({
      path: passwordsPath!,
      data: csvOf(passwords),
      mode: PRIVATE,
      publish: csv ? { mode: 'replace-checked', checked: csv.id } : p.force ? REPLACE : CREATE,
    });
    for (const [i, plan] of plans.entries()) {
      at = i;
      const built: BuiltIdentity = await watch(builds[i]!, i, () => waiting[i]!);
      refuseAppearedOutputs(plan);
      if (passwordsPath) {
        // The first password is written here; every later one was synced with the files of the
        // identity before it and is only published now (issue 13: one round of fsyncs per
        // identity instead of two). Either way it is on disk before its identity is recorded.
        if (stagedCsv) {
          const next = stagedCsv;
          stagedCsv = undefined;
          csv = { id: next.file.commit(), rows: next.rows };
        } else {
          passwords.push([plan.name, built.password]);
          const [id] = await watch(writeFilesAtomic([csvFile()], undefined, abort.signal), i, () => `${PASSWORDS_FILE} to be written and synced`);
          csv = { id: id!, rows: passwords.length };
        }
      }
      recordCertificate(db, built.signed, command, validAlongside(plan));
      recorded = built;
      buildAhead(i + BUILT_AHEAD);
      const files = writeIdentityFiles(built, abort.signal);
      let next: Promise<unknown> = Promise.resolve();
      if (passwordsPath && i + 1 < plans.length) {
        passwords.push([plans[i + 1]!.name, passwordsAhead[i + 1]!]);
        const rows = passwords.length;
        next = stageFileAtomic(csvFile(), abort.signal).then((file) => (stagedCsv = { file, rows }));
      }
      const [wrote, staged] = await watch(Promise.allSettled([files, next]), i, () => 'its files to be written and synced on the thread pool');
      if (wrote.status === 'rejected') throw wrote.reason;
      recorded = undefined;
      issued.push(resultOf(built));
      if (staged.status === 'rejected') throw staged.reason;
      checkpoint(`batch:${i + 1}`);
      p.onProgress?.(i + 1, plans.length, plan.name);
    }
  } catch (error) {
    (stagedCsv as { file: StagedFile } | undefined)?.file.discard();
    // Given up on a stalled step: its half-staged files go, now (the work itself may never end).
    const stalledNote = error instanceof StalledError && removeTempFilesInFlight() > 0 ? '; its temporary files removed' : '';
    // The published passwords.csv holds a line ahead of what was issued (the identity in flight): it goes.
    const done = csv as { id: FileId; rows: number } | undefined;
    const csvNote = passwordsPath && done && done.rows > issued.length ? tidyPasswords(passwordsPath, done.id, passwords, issued) : '';
    const next = recorded ? at + 1 : issued.length > at ? at + 1 : at;
    throw stoppedMidway(error, issued, recorded, names.slice(next), passwordsPath, csvNote + stalledNote);
  } finally {
    (stagedCsv as { file: StagedFile } | undefined)?.file.discard();
    pool.stop();
    deriver?.close();
  }
  return { issued, ...(passwordsPath ? { passwordsPath } : {}) };
}

/**
 * A batch that stops leaves passwords.csv describing exactly the identities
 * it issued: the line of the one in flight (written before its record) goes,
 * and a file of no identity at all is removed. Only the file this run
 * published is touched. Returns a note for the error when that failed.
 */
function tidyPasswords(path: string, csvId: FileId, passwords: readonly [string, string][], issued: readonly IssueResult[]): string {
  const kept = new Set(issued.map((r) => r.name));
  try {
    if (kept.size === 0) removePublished(path, csvId);
    else writeFileAtomic(path, csvOf(passwords.filter(([name]) => kept.has(name))), PRIVATE, { mode: 'replace-checked', checked: csvId });
    return '';
  } catch (error) {
    return ` (${path} could not be tidied: ${error instanceof Error ? error.message : String(error)}; its lines of devices not issued describe no file)`;
  }
}

/**
 * A failure after the run began: what was issued stays complete; the error
 * says what was issued, what became of the identity in flight, and what
 * remains (exit 1, or the cause's own code when nothing was issued).
 */
function stoppedMidway(
  error: unknown,
  issued: readonly IssueResult[],
  inFlight: BuiltIdentity | undefined,
  remaining: readonly string[],
  passwordsPath: string | undefined,
  csvNote: string,
): unknown {
  if (issued.length === 0 && !inFlight) {
    // Nothing of this run is recorded or in place: the cause, saying so.
    if (error instanceof PocketcaError && !/nothing was issued/.test(error.message)) error.message += `; nothing was issued${csvNote}`;
    return error;
  }
  const cause = error instanceof Error ? error.message : String(error);
  const done =
    issued.length === 0
      ? 'nothing was issued'
      : `${issued.length} issued and recorded (${issued.map((r) => r.name).join(', ')})${passwordsPath ? `, their passwords in ${passwordsPath}` : ''}`;
  const lost = inFlight
    ? `; ${inFlight.plan.name} is recorded as ${inFlight.signed.record.serial} but its files were not written and its key is gone (\`pocketca renew ${inFlight.plan.name} --out-dir DIR\` replaces it)`
    : '';
  const rest = remaining.length > 0 ? `; not issued: ${remaining.join(', ')}` : '';
  // A stall stays a StalledError: the process then exits without waiting for what stalled.
  const Stopped = error instanceof StalledError ? StalledError : OperationFailedError;
  return new Stopped(
    `stopped: ${cause}; ${done}${lost}${rest}${csvNote}`,
    remaining.length > 0 ? 'put the names not issued in a new file and run `pocketca issue --batch FILE` again' : undefined,
  );
}
