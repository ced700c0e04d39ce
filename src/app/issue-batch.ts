/**
 * `pocketca issue --batch FILE`: one identity per NAME in FILE, with the same
 * flags for all, the CA key unlocked once (SPEC "Many devices at once").
 *
 * Everything that can be refused is refused before the first identity: every
 * name (a bad one or a duplicate is exit 2), existing output files, names
 * that already have a valid certificate (exit 1 unless --force, as for one
 * `issue NAME`). Then the key pairs are generated on libuv's thread pool, a
 * bounded number in flight, while this thread signs, encodes, records and
 * writes the identities in file order.
 *
 * Each identity is recorded in its own transaction before its files are
 * written (SPEC "Guarantees", per identity). A generated password is written
 * to OUT_DIR/passwords.csv (rewritten whole, then renamed) before its
 * identity is recorded: a run killed in between leaves at most one password
 * for a device that was never issued, never an issued PKCS#12 without its
 * password. A failure midway stops the run: the identities issued so far
 * stay complete and recorded, and the error names the ones that remain.
 */
import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generatePassword } from '../ca/passwords';
import { validateName } from '../formats/names';
import type { Pkcs12Format, Pkcs12Secrets } from '../formats/pkcs12';
import { InvalidNameError, OperationFailedError, OutputExistsError, UsageError, ValidCertificateExistsError } from '../errors';
import { findByName, statusOf } from '../store/certificates';
import type { AppContext } from '../host/context';
import { checkpoint, PRIVATE, readFileBounded, stageFileAtomic, writeFilesAtomic, type StagedFile } from '../host/files';
import { ensureOutputDir, writeOutput } from '../host/output-target';
import { recordCertificate } from './issue-certificate';
import {
  buildIdentity,
  checkIssuable,
  filesOf,
  loadEncoders,
  planIssue,
  resolveIdentityOutputs,
  resultOf,
  signerFor,
  type BuiltIdentity,
  type IssueParams,
  type IssuePlan,
  type IssueResult,
  type IssueSession,
} from './issue-identity';
import { takeKey } from '../host/key-pairs';
import type { Pkcs12Request } from '../host/pkcs12-worker';
import { unlockCaKey } from '../host/unlock';

/** A batch file: a name is at most 65 octets a line; a megabyte is some 15,000 devices. */
export const MAX_BATCH_BYTES = 1024 * 1024;
/** How many identities are built ahead of the one being written. */
const BUILT_AHEAD = 2;
/** The file generated PKCS#12 passwords go to, in the output directory. */
export const PASSWORDS_FILE = 'passwords.csv';

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

/** The names in a batch file, in order, each checked; a bad one or a duplicate is exit 2 naming its line. */
export function parseBatchNames(text: string, file: string): string[] {
  const names: string[] = [];
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
    names.push(line);
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

/** Buffers come back from a worker as Uint8Arrays (structured clone). */
const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const reviveDerived = (d: Pkcs12Secrets['mac']): Pkcs12Secrets['mac'] => ({ salt: asBuffer(d.salt), key: asBuffer(d.key), iv: asBuffer(d.iv) });

/**
 * PKCS#12 password material derived on a worker thread (src/host/pkcs12-worker.ts),
 * requested ahead so it is ready when the identity is built. If the worker
 * cannot run, each request is derived here instead.
 */
function pkcs12Deriver(encoders: { preparePkcs12: (password: string, format: Pkcs12Format) => Pkcs12Secrets }): {
  derive: (password: string, format: Pkcs12Format) => Promise<Pkcs12Secrets>;
  close: () => void;
} {
  const pending = new Map<number, { resolve: (s: Pkcs12Secrets) => void; reject: (e: Error) => void; password: string; format: Pkcs12Format }>();
  let worker: Worker | undefined;
  let next = 0;
  const fallBack = () => {
    worker = undefined;
    for (const [id, p] of pending) {
      pending.delete(id);
      try {
        p.resolve(encoders.preparePkcs12(p.password, p.format));
      } catch (error) {
        p.reject(error as Error);
      }
    }
  };
  try {
    worker = new Worker(join(__dirname, '..', 'host', 'pkcs12-worker.js'));
    worker.unref();
    worker.on('message', (m: { id: number; secrets?: Pkcs12Secrets; error?: string }) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (!m.secrets) return p.reject(new Error(m.error ?? 'the PKCS#12 worker failed'));
      const s = m.secrets;
      p.resolve({ format: s.format, keyBag: reviveDerived(s.keyBag), mac: reviveDerived(s.mac), ...(s.certSafe ? { certSafe: reviveDerived(s.certSafe) } : {}) });
    });
    worker.on('error', fallBack);
  } catch {
    worker = undefined;
  }
  return {
    derive(password, format) {
      if (!worker) return Promise.resolve().then(() => encoders.preparePkcs12(password, format));
      const id = next++;
      const result = new Promise<Pkcs12Secrets>((resolve, reject) => pending.set(id, { resolve, reject, password, format }));
      worker.postMessage({ id, password, format } satisfies Pkcs12Request);
      return result;
    },
    close: () => void worker?.terminate(),
  };
}

const csvOf = (rows: readonly [string, string][]): string => ['name,password', ...rows.map(([name, password]) => `${name},${password}`)].join('\n') + '\n';

export async function issueBatch(ctx: AppContext, p: BatchParams): Promise<BatchResult> {
  const text = readFileBounded(p.batchFile, { max: MAX_BATCH_BYTES, what: 'batch file', expected: 'a batch file names one device per line' }).toString('utf8');
  const names = parseBatchNames(text, p.batchFile);
  const plans = names.map((name) => planIssue({ ...p, name }));
  const now = ctx.now();
  for (const plan of plans) checkIssuable(ctx.home.caCertificate(), plan, now);
  // Every file of every identity through the output rule, before anything is unlocked or signed.
  const dir = resolveIdentityOutputs(ctx, plans, p.outDir);
  const outDir = dir.path;
  const generated = p.p12Password === undefined && p.profile === 'client';
  const passwordsPath = generated ? join(outDir, PASSWORDS_FILE) : undefined;
  if (passwordsPath && !p.force && existsSync(passwordsPath)) {
    throw new OutputExistsError(`${passwordsPath} already exists`, 'move it away (it may hold the passwords of an earlier batch), or pass --force to replace it');
  }
  const db = ctx.home.database();
  if (!p.force) {
    const now = ctx.now().toISOString();
    const taken = names.filter((name) => findByName(db, name).some((row) => statusOf(row, now) === 'valid'));
    if (taken.length > 0) {
      throw new ValidCertificateExistsError(
        `${taken.length === 1 ? 'this name already has' : `${taken.length} names already have`} a valid certificate: ${taken.join(', ')}`,
        `renew one with \`pocketca renew ${taken[0]}\`, leave them out of ${p.batchFile}, or pass --force to issue another anyway; nothing was issued`,
      );
    }
  }

  const command = plans[0]!.command;
  const ca = ctx.home.caCertificate();
  const pool = keyPool(plans[0]!, plans.length, keysInFlight());
  let deriver: ReturnType<typeof pkcs12Deriver> | undefined;
  const issued: IssueResult[] = [];
  const passwords: [string, string][] = [];
  let stagedCsv: StagedFile | undefined;
  try {
    const encoders = await loadEncoders();
    const derive = (deriver = pkcs12Deriver(encoders)).derive;
    const caKey = await unlockCaKey(ctx, command);
    const profileSigner = p.profile === 'client' && p.mobileconfig && p.signProfile ? await signerFor(ctx, caKey) : undefined;
    const session: IssueSession = { ctx, ca, caKey, db, encoders, ...(profileSigner ? { profileSigner } : {}) };
    // Every PKCS#12's password material is asked for now, derived on another core in file order.
    const passwordsAhead = plans.map(() => p.p12Password ?? generatePassword(ctx.randomBytes));
    const secretsAhead = p.profile === 'client' ? passwordsAhead.map((password) => derive(password, p.p12Format)) : [];
    for (const secrets of secretsAhead) secrets.catch(() => undefined);
    // Signing and encoding are pure: the identities ahead are built while the files of this one are synced on the thread pool.
    const build = async (i: number): Promise<BuiltIdentity> => {
      const secrets = await secretsAhead[i];
      return buildIdentity(session, plans[i]!, await pool.keys[i]!, passwordsAhead[i]!, secrets);
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
    const csvFile = () => ({ path: passwordsPath!, data: csvOf(passwords), mode: PRIVATE });
    for (const [i, plan] of plans.entries()) {
      try {
        const built: BuiltIdentity = await builds[i]!;
        if (passwordsPath) {
          // The first password is written here; every later one was synced with the files of the
          // identity before it and is only renamed into place now (issue 13: one round of fsyncs per
          // identity instead of two). Either way it is on disk before its identity is recorded.
          if (stagedCsv) stagedCsv.commit();
          else {
            passwords.push([plan.name, built.password]);
            await writeFilesAtomic([csvFile()]);
          }
          stagedCsv = undefined;
        }
        recordCertificate(db, built.signed, command);
        buildAhead(i + BUILT_AHEAD);
        const writes: Promise<unknown>[] = [writeIdentityFiles(built)];
        if (passwordsPath && i + 1 < plans.length) {
          passwords.push([plans[i + 1]!.name, passwordsAhead[i + 1]!]);
          writes.push(stageFileAtomic(csvFile()).then((staged) => (stagedCsv = staged)));
        }
        const failed = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        issued.push(resultOf(built));
        checkpoint(`batch:${i + 1}`);
        p.onProgress?.(i + 1, plans.length, plan.name);
      } catch (error) {
        throw stoppedMidway(error, issued, names.slice(i), passwordsPath);
      }
    }
  } finally {
    (stagedCsv as StagedFile | undefined)?.discard();
    pool.stop();
    deriver?.close();
  }
  return { issued, ...(passwordsPath ? { passwordsPath } : {}) };
}

/**
 * An identity's regular files synced in parallel (temporary names, then renames);
 * a device or FIFO the output rule let through is written in place, never renamed over.
 */
function writeIdentityFiles(built: BuiltIdentity): Promise<void> {
  const targets = built.plan.targets!;
  const files = filesOf(built);
  files.forEach((f, i) => {
    if (targets[i]!.kind !== 'file') writeOutput(targets[i]!, f.data, f.mode);
  });
  return writeFilesAtomic(files.filter((_, i) => targets[i]!.kind === 'file'));
}

/** A failure after the run began: what was issued stays; the error says what remains (exit 1). */
function stoppedMidway(error: unknown, issued: readonly IssueResult[], remaining: readonly string[], passwordsPath: string | undefined): unknown {
  if (issued.length === 0) return error;
  const cause = error instanceof Error ? error.message : String(error);
  const done =
    issued.length === 0
      ? 'nothing was issued'
      : `${issued.length} issued and recorded (${issued.map((r) => r.name).join(', ')})${passwordsPath ? `, their passwords in ${passwordsPath}` : ''}`;
  return new OperationFailedError(
    `stopped: ${cause}; ${done}; not issued: ${remaining.join(', ')}`,
    'put the names not issued in a new file and run `pocketca issue --batch FILE` again',
  );
}
