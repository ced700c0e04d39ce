/**
 * `pocketca issue NAME`: a key pair and certificate for a device (client) or a
 * service (server), exported as the files the device or proxy needs.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { checkEndEntity, DEFAULT_DAYS, type ProfileName } from '../ca/certificate-profiles';
import { resolveKeySpec, type KeySpec } from '../ca/key-types';
import { validateName } from '../formats/names';
import { generatePassword } from '../ca/passwords';
import { buildSubject, type Subject } from '../ca/subject';
import { validateSans } from '../ca/subject-alt-names';
import { OutputAppearedError, PocketcaError, UsageError } from '../errors';
import { toPem } from '../formats/pem';
import type { Pkcs12Format, Pkcs12Secrets } from '../formats/pkcs12';
import { commonNameFromDer } from '../formats/x500-name';
import type { ParsedCertificate, SubjectAltNames } from '../formats/x509';
import type { Db } from '../store/database';
import type { AppContext } from '../host/context';
import { checkpoint, PRIVATE, PUBLIC, writeFilesAtomic } from '../host/files';
import { deviceFile } from '../host/output-kinds';
import { asFilesystemError, checkTargetDirectory, ensureOutputDir, writeFailure, resolveOutputDir, resolveOutputIn, writeOutput, type OutputDir, type OutputTarget } from '../host/output-target';
import { recordCertificate, signCertificate, summarize, type IssuedSummary, type SignedCertificate, type ValidAlongside } from './issue-certificate';
import { takeKey } from '../host/key-pairs';
import { unlockCaKey } from '../host/unlock';
import { refuseSecondCertificate } from './find-certificate';

/** An identity's RSA modulus when none is given (SPEC `issue --key-size`). */
export const DEFAULT_KEY_SIZE = 2048;

export interface IssueParams {
  /** Record and file name (SPEC NAME). */
  name: string;
  /** client (default) or server. */
  profile: Exclude<ProfileName, 'profile-signer' | 'intermediate'>;
  /** Subject CN; default the name. */
  cn?: string;
  email: string[];
  dns: string[];
  ip: string[];
  /** Validity; default 365 (client) or 398 (server). */
  days?: number;
  /** rsa or ec; default rsa (renew: the old key's type). */
  keyType?: string;
  /** EC curve, P-256 (default) or P-384; only with keyType ec. */
  curve?: string;
  /** RSA modulus size; default 2048; only with keyType rsa. */
  keySize?: number;
  /** The key the new one follows (renew): its type, size and curve unless given; default none. */
  baseKey?: KeySpec;
  /** Where files go; default the current directory. */
  outDir: string;
  /** Also write a client's NAME.key.pem; default false. */
  keepKey: boolean;
  /** Write NAME.mobileconfig for a client; default true. */
  mobileconfig: boolean;
  /** PKCS#12 encryption; default legacy (what iOS imports). */
  p12Format: Pkcs12Format;
  /** Put the PKCS#12 password inside the profile; default false. */
  profilePassword: boolean;
  /** Sign the profile with the CA's profile-signing certificate; default false. */
  signProfile: boolean;
  /** The PKCS#12 password the user chose, or undefined to generate one. */
  p12Password?: string;
  /** Replace existing output files, and (for `issue`, `enroll`) issue even when NAME has a valid certificate; default false. */
  force: boolean;
  /** The command recorded in the audit log; default 'issue'. */
  command?: string;
  /**
   * `renew`: the serials of the name's certificates this one replaces, which
   * may still be valid when it is recorded; any other valid one means another
   * run got there first and nothing is recorded. Default none.
   */
  supersedes?: readonly string[];
}

export interface IssueResult extends IssuedSummary {
  files: Record<string, string>;
  /** Only when generated: shown once. */
  p12Password?: string;
}

export interface PlannedFile {
  role: string;
  path: string;
  mode: number;
}

function planFiles(p: IssueParams, outDir: string): PlannedFile[] {
  const f = (role: string, suffix: string, mode: number): PlannedFile => ({ role, path: join(outDir, p.name + suffix), mode });
  if (p.profile === 'server') return [f('cert', '.pem', PUBLIC), f('key', '.key.pem', PRIVATE), f('fullchain', '.fullchain.pem', PUBLIC)];
  const files = [f('cert', '.pem', PUBLIC), f('p12', '.p12', PRIVATE)];
  // The profile holds the PKCS#12 (and maybe its password): private material.
  if (p.mobileconfig) files.push(f('mobileconfig', '.mobileconfig', PRIVATE));
  if (p.keepKey) files.push(f('key', '.key.pem', PRIVATE));
  return files;
}

/**
 * The output rule for the files of device NAME in --out-dir. `renew`
 * replaces the device's own earlier files (output-kinds deviceFile) and
 * nothing else without --force. `issue` starts a new identity and replaces
 * no file without --force, not even the device's own: those may be what a
 * phone still installs, and a new identity over them is asked for explicitly.
 */
export function deviceOutputs(ctx: AppContext, outDir: OutputDir, name: string, files: { role: string; path: string }[], force: boolean, replacesOwn: boolean): OutputTarget[] {
  const device = { db: ctx.home.database(), ca: ctx.home.caCertificate(), name };
  return files.map((f) => {
    const own = deviceFile(f.role, device);
    return resolveOutputIn(ctx.home.dir, outDir, basename(f.path), {
      flag: '--out-dir',
      what: `a file of ${name} from this CA`,
      sameKind: replacesOwn ? own : (bytes) => own(bytes) && `holds an earlier file of ${name}, which issue replaces only with --force`,
      force,
      existsHint: replacesOwn
        ? 'choose another --out-dir, move the old files away, or pass --force to replace them'
        : `choose another --out-dir, pass --force to replace ${name}'s earlier files, or \`pocketca renew ${name}\` while its certificate is valid`,
    });
  });
}

/** One identity, checked and decided before anything is unlocked or generated. */
export interface IssuePlan {
  params: IssueParams;
  name: string;
  command: string;
  keySpec: KeySpec;
  sans: SubjectAltNames;
  subject: Subject;
  days: number;
  outDir: string;
  files: PlannedFile[];
  /** Where each of `files` is written, once resolveIdentityOutputs checked them (same order). */
  targets?: OutputTarget[];
}

/** Check an `issue`'s parameters (all of them, before any work) and plan its files. No I/O. */
export function planIssue(p: IssueParams): IssuePlan {
  const name = validateName(p.name);
  const keySpec = resolveKeySpec(p, DEFAULT_KEY_SIZE, p.baseKey);
  const sans = validateSans({ dns: p.dns, ip: p.ip, email: p.email });
  const subject = buildSubject(p.cn ?? name);
  if (p.p12Password !== undefined && p.p12Password.length === 0) throw new UsageError('the PKCS#12 password must not be empty');
  const outDir = resolve(p.outDir);
  return { params: p, name, command: p.command ?? 'issue', keySpec, sans, subject, days: p.days ?? DEFAULT_DAYS[p.profile], outDir, files: planFiles(p, outDir) };
}

/**
 * Resolve the output directory and every plan's files through the output rule
 * (src/host/output-target.ts), before anything is unlocked, signed or recorded.
 * The plans' paths become the real paths written.
 */
export function resolveIdentityOutputs(ctx: AppContext, plans: readonly IssuePlan[], outDirGiven: string): OutputDir {
  const dir = resolveOutputDir(ctx.home.dir, outDirGiven, '--out-dir');
  for (const plan of plans) {
    const targets = deviceOutputs(ctx, dir, plan.name, plan.files, plan.params.force, plan.command === 'renew');
    plan.targets = targets;
    plan.outDir = dir.path;
    plan.files = plan.files.map((f, i) => ({ ...f, path: targets[i]!.path }));
  }
  return dir;
}

/**
 * What signing would refuse of this identity under `ca` that needs no key
 * (validity, a server's SANs, the root's name constraints): checked before
 * the CA key is unlocked, so a usage error is told as itself.
 */
export function checkIssuable(ca: ParsedCertificate, plan: IssuePlan, now: Date): void {
  checkEndEntity(ca, { profile: plan.params.profile, commonName: plan.subject.commonName, sans: plan.sans, days: plan.days, now });
}

/** What every identity of one run shares: the CA, its unlocked key, the encoders (loaded once). */
export interface IssueSession {
  ctx: AppContext;
  ca: ParsedCertificate;
  caKey: KeyObject;
  db: Db;
  encoders: Encoders;
  /** The profile-signing certificate and key, when profiles are signed. */
  profileSigner?: { certDer: Buffer; key: KeyObject };
}

export type Encoders = typeof import('../formats/pkcs12') & typeof import('../formats/mobileconfig');

/** The PKCS#12 and profile encoders: loaded on demand, they cost start-up time `sign` and `crl` do not pay. */
export async function loadEncoders(): Promise<Encoders> {
  const [pkcs12, mobileconfig] = await Promise.all([import('../formats/pkcs12'), import('../formats/mobileconfig')]);
  return { ...pkcs12, ...mobileconfig };
}

/** An identity signed and encoded in memory, not yet recorded nor written. */
export interface BuiltIdentity {
  plan: IssuePlan;
  signed: SignedCertificate;
  contents: Map<string, string | Buffer>;
  password: string;
  generated: boolean;
}

/**
 * Sign the certificate and encode every file of the identity in memory, so
 * that a failure here leaves nothing behind. `p12Secrets` are the PKCS#12's
 * password-derived keys, derived ahead (while the key pair was generated).
 */
export function buildIdentity(s: IssueSession, plan: IssuePlan, key: KeyObject, password: string, p12Secrets?: Pkcs12Secrets): BuiltIdentity {
  const { ctx, ca, encoders } = s;
  const p = plan.params;
  const signed = signCertificate(
    ca,
    s.caKey,
    {
      name: plan.name,
      profile: p.profile,
      source: plan.command === 'renew' ? 'renew' : 'issue',
      subject: plan.subject,
      spkiDer: createPublicKey(key).export({ type: 'spki', format: 'der' }),
      keyType: plan.keySpec.type,
      sans: plan.sans,
      days: plan.days,
    },
    ctx.now(),
    ctx.randomBytes,
  );

  const certPem = toPem('CERTIFICATE', signed.der);
  const keyPem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
  const contents = new Map<string, string | Buffer>();
  contents.set('cert', certPem);
  if (p.profile === 'server') {
    contents.set('key', keyPem);
    contents.set('fullchain', certPem + toPem('CERTIFICATE', ca.der));
  } else {
    const p12 = encoders.encodePkcs12({ key, certDer: signed.der, chainDer: [ca.der], password, format: p.p12Format, friendlyName: plan.name }, p12Secrets);
    contents.set('p12', p12);
    if (p.keepKey) contents.set('key', keyPem);
    if (p.mobileconfig) {
      const profile = Buffer.from(
        encoders.buildMobileconfig({
          deviceName: plan.name,
          p12Der: p12,
          p12Password: p.profilePassword ? password : undefined,
          caCertDer: ca.der,
          caName: commonNameFromDer(ca.subjectDer) ?? 'pocketca',
          caFingerprint: ca.fingerprintSha256,
        }),
        'utf8',
      );
      if (p.signProfile) {
        if (!s.profileSigner) throw new RangeError('signProfile without a profile signer in the session');
        contents.set('mobileconfig', encoders.signMobileconfig(profile, { ...s.profileSigner, chainDer: [ca.der] }, ctx.now()));
      } else {
        contents.set('mobileconfig', profile);
      }
    }
  }
  return { plan, signed, contents, password, generated: p.p12Password === undefined && p.profile === 'client' };
}

/**
 * The valid certificates NAME may have when this identity is recorded
 * (recordCertificate): none for `issue` ('any' with --force), the replaced
 * ones for `renew`.
 */
export function validAlongside(plan: IssuePlan): ValidAlongside {
  if (plan.command === 'renew') return plan.params.supersedes ?? [];
  return plan.params.force ? 'any' : [];
}

/**
 * The output rule's check made again just before the certificate is
 * recorded: a file that appeared at a free name since (another run, another
 * program) stops the identity with nothing recorded. The publish step
 * (link(2), src/host/files.ts) is what guarantees it is never replaced; this
 * look only keeps the certificate unrecorded in the common case.
 */
export function refuseAppearedOutputs(plan: IssuePlan): void {
  for (const target of plan.targets!) {
    if (target.kind !== 'file' || target.publish.mode !== 'create' || !existsSync(target.path)) continue;
    throw new OutputAppearedError(
      `${target.path} appeared after it was checked (another program or pocketca run wrote it meanwhile): left as it is; nothing was issued for ${plan.name}`,
      'see what wrote it, then move it away or choose another --out-dir and run the command again',
    );
  }
}

/**
 * Record the identity's certificate, with the one-certificate-per-name rule
 * inside the transaction, then write its files: SPEC "Guarantees" and "Two
 * processes at once".
 */
export async function saveIdentity(db: Db, built: BuiltIdentity, dir: OutputDir): Promise<IssueResult> {
  checkpoint(`${built.plan.command}:built`);
  refuseAppearedOutputs(built.plan);
  recordCertificate(db, built.signed, built.plan.command, validAlongside(built.plan));
  // A new directory is 0700: it holds the PKCS#12 and keys.
  ensureOutputDir(dir, 0o700);
  try {
    await writeIdentityFiles(built);
  } catch (error) {
    throw recordedNotWritten(built, error);
  }
  return resultOf(built);
}

/** The identity's files with their contents, in the order they are written. */
const filesOf = (built: BuiltIdentity): { path: string; data: string | Buffer; mode: number }[] =>
  built.plan.files.map((f) => ({ path: f.path, data: built.contents.get(f.role)!, mode: f.mode }));

/**
 * An identity's files: a device or FIFO the output rule let through is
 * written in place, the regular files are synced in parallel on the thread
 * pool and then published all or none (src/host/files.ts writeFilesAtomic):
 * a file that appeared at one of the names is left alone, and the identity's
 * files already in place are taken back, so no half set of files remains.
 */
export async function writeIdentityFiles(built: BuiltIdentity, signal?: AbortSignal): Promise<void> {
  const targets = built.plan.targets!;
  const files = filesOf(built);
  files.forEach((f, i) => {
    if (targets[i]!.kind !== 'file') writeOutput(targets[i]!, f.data, f.mode);
  });
  const regular = files.flatMap((f, i) => {
    const target = targets[i]!;
    if (target.kind !== 'file') return [];
    checkTargetDirectory(target);
    return [{ ...f, publish: target.publish }];
  });
  await writeFilesAtomic(regular, (path, error) => (error instanceof PocketcaError ? error : writeFailure(path, error)), signal);
}

/**
 * The certificate is recorded but its files could not be written (a file
 * appeared at one of its names, the disk filled up): the error says so, with
 * its serial. Its key existed only in this process: `renew` gives the device
 * a new one.
 */
export function recordedNotWritten(built: BuiltIdentity, error: unknown): unknown {
  const { name, serial } = built.signed.record;
  const fsError = error instanceof PocketcaError ? error : asFilesystemError(error);
  if (!fsError) return error;
  fsError.message = `${fsError.message}; ${name}'s certificate ${serial} is recorded, but its files were not written and its key is gone`;
  return fsError.withHint(`\`pocketca renew ${name} --out-dir DIR\` gives it a new key and its files in DIR, and revokes ${serial}`);
}

/** What `issue` reports of a saved identity. */
export function resultOf(built: BuiltIdentity): IssueResult {
  return {
    ...summarize(built.signed),
    files: Object.fromEntries(built.plan.files.map((f) => [f.role, f.path])),
    ...(built.generated ? { p12Password: built.password } : {}),
  };
}

/**
 * The profile-signing certificate, for --sign-profile only: its module (and
 * `init`'s, which it reuses) is loaded then, not on every issue (issue 13).
 */
export async function signerFor(ctx: AppContext, caKey: KeyObject): ReturnType<typeof import('./profile-signer').ensureProfileSigner> {
  const { ensureProfileSigner } = await import('./profile-signer');
  return ensureProfileSigner(ctx, caKey);
}

export async function issueIdentity(ctx: AppContext, p: IssueParams): Promise<IssueResult> {
  const plan = planIssue(p);
  // Before any file, key or passphrase: a second valid certificate is rarely meant (revoke NAME then matches two).
  // `issue` and `enroll` alike; `renew` is what replaces a valid one.
  if (plan.command !== 'renew' && !p.force) refuseSecondCertificate(ctx.home.database(), plan.name, ctx.now().toISOString());
  const ca = ctx.home.caCertificate();
  checkIssuable(ca, plan, ctx.now());
  // Checked before the CA key is unlocked and anything is signed or recorded.
  const dir = resolveIdentityOutputs(ctx, [plan], p.outDir);
  const db = ctx.home.database();

  // Key generation runs on libuv's thread pool (started by cli/start when it
  // could) while this thread loads the encoders and unlocks the CA key.
  const keyPromise = takeKey(plan.keySpec);
  keyPromise.catch(() => undefined);
  const encoders = await loadEncoders();
  // The PKCS#12's password material needs neither key: derived here, while
  // the CA key's scrypt (started by cli/start) and the key pair are still on
  // the thread pool, it is off the path of both (issue 18).
  const password = p.p12Password ?? generatePassword(ctx.randomBytes);
  const p12Secrets = p.profile === 'client' ? encoders.preparePkcs12(password, p.p12Format) : undefined;
  const caKey = await unlockCaKey(ctx, plan.command);
  const profileSigner = p.profile === 'client' && p.mobileconfig && p.signProfile ? await signerFor(ctx, caKey) : undefined;
  const key = await keyPromise;
  const session: IssueSession = { ctx, ca, caKey, db, encoders, ...(profileSigner ? { profileSigner } : {}) };
  return await saveIdentity(db, buildIdentity(session, plan, key, password, p12Secrets), dir);
}
