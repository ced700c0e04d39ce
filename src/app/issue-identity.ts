/**
 * `pocketca issue NAME`: a key pair and certificate for a device (client) or a
 * service (server), exported as the files the device or proxy needs.
 */
import { createPublicKey } from 'node:crypto';
import { basename, join } from 'node:path';
import { DEFAULT_DAYS, type ProfileName } from '../ca/certificate-profiles';
import { validateName } from '../ca/names';
import { generatePassword } from '../ca/passwords';
import { buildSubject } from '../ca/subject';
import { validateSans } from '../ca/subject-alt-names';
import { UsageError } from '../errors';
import { toPem } from '../formats/pem';
import type { Pkcs12Format } from '../formats/pkcs12';
import { commonNameFromDer } from '../formats/x500-name';
import type { AppContext } from './context';
import { PRIVATE, PUBLIC } from './files';
import { deviceFile } from './output-kinds';
import { ensureOutputDir, resolveOutputDir, resolveOutputIn, writeOutput, type OutputDir, type OutputTarget } from './output-target';
import { recordCertificate, signCertificate, summarize, type IssuedSummary } from './issue-certificate';
import { takeRsaKey } from './rsa-keys';
import { unlockCaKey } from './unlock';
import { ensureProfileSigner } from './profile-signer';
import { refuseSecondCertificate } from './find-certificate';

export const CLIENT_KEY_SIZES = [2048, 3072, 4096];

export interface IssueParams {
  /** Record and file name (SPEC NAME). */
  name: string;
  /** client (default) or server. */
  profile: Exclude<ProfileName, 'profile-signer'>;
  /** Subject CN; default the name. */
  cn?: string;
  email: string[];
  dns: string[];
  ip: string[];
  /** Validity; default 365 (client) or 398 (server). */
  days?: number;
  /** RSA modulus size; default 2048. */
  keySize: number;
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
  /** Replace existing output files, whatever they hold, and (for `issue`) issue even when NAME has a valid certificate; default false. */
  force: boolean;
  /** The command recorded in the audit log; default 'issue'. */
  command?: string;
}

export interface IssueResult extends IssuedSummary {
  files: Record<string, string>;
  /** Only when generated: shown once. */
  p12Password?: string;
}

interface PlannedFile {
  role: string;
  path: string;
  mode: number;
}

function plan(p: IssueParams, outDir: string): PlannedFile[] {
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

export async function issueIdentity(ctx: AppContext, p: IssueParams): Promise<IssueResult> {
  const name = validateName(p.name);
  const command = p.command ?? 'issue';
  if (!CLIENT_KEY_SIZES.includes(p.keySize)) throw new UsageError('--key-size must be 2048, 3072 or 4096');
  const sans = validateSans({ dns: p.dns, ip: p.ip, email: p.email });
  const subject = buildSubject(p.cn ?? name);
  if (p.p12Password !== undefined && p.p12Password.length === 0) throw new UsageError('the PKCS#12 password must not be empty');
  // Before any file, key or passphrase: a second valid certificate is rarely meant (revoke NAME then matches two).
  if (command === 'issue' && !p.force) refuseSecondCertificate(ctx.home.database(), name, ctx.now().toISOString());
  const outDir = resolveOutputDir(ctx.home.dir, p.outDir, '--out-dir');
  const files = plan(p, outDir.path);
  // Checked before the CA key is unlocked and anything is signed or recorded.
  const targets = deviceOutputs(ctx, outDir, name, files, p.force, command === 'renew');
  const days = p.days ?? DEFAULT_DAYS[p.profile];
  const ca = ctx.home.caCertificate();
  const db = ctx.home.database();

  // Key generation runs on libuv's thread pool (started by cli/start when it
  // could) while this thread loads the encoders and unlocks the CA key.
  const keyPromise = takeRsaKey(p.keySize);
  keyPromise.catch(() => undefined);
  const [{ encodePkcs12, preparePkcs12 }, { buildMobileconfig, signMobileconfig }] = await Promise.all([
    import('../formats/pkcs12'),
    import('../formats/mobileconfig'),
  ]);
  const caKey = await unlockCaKey(ctx, command);
  // The PKCS#12's password material needs neither key: derived here, it is off the path once the key pair is ready.
  const generated = p.p12Password === undefined && p.profile === 'client';
  const password = p.p12Password ?? generatePassword(ctx.randomBytes);
  const p12Secrets = p.profile === 'client' ? preparePkcs12(password, p.p12Format) : undefined;
  const key = await keyPromise;

  const signed = signCertificate(
    ca,
    caKey,
    {
      name,
      profile: p.profile,
      source: command === 'renew' ? 'renew' : 'issue',
      subject,
      spkiDer: createPublicKey(key).export({ type: 'spki', format: 'der' }),
      keyType: 'rsa',
      sans,
      days,
    },
    ctx.now(),
    ctx.randomBytes,
  );

  // Everything is encoded in memory before the record, so a failure here leaves nothing behind.
  const certPem = toPem('CERTIFICATE', signed.der);
  const keyPem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
  const contents = new Map<string, string | Buffer>();
  contents.set('cert', certPem);
  if (p.profile === 'server') {
    contents.set('key', keyPem);
    contents.set('fullchain', certPem + toPem('CERTIFICATE', ca.der));
  } else {
    const p12 = encodePkcs12({ key, certDer: signed.der, chainDer: [ca.der], password, format: p.p12Format, friendlyName: name }, p12Secrets);
    contents.set('p12', p12);
    if (p.keepKey) contents.set('key', keyPem);
    if (p.mobileconfig) {
      const caName = commonNameFromDer(ca.subjectDer) ?? 'pocketca';
      const profile = Buffer.from(
        buildMobileconfig({
          deviceName: name,
          p12Der: p12,
          p12Password: p.profilePassword ? password : undefined,
          caCertDer: ca.der,
          caName,
          caFingerprint: ca.fingerprintSha256,
        }),
        'utf8',
      );
      if (p.signProfile) {
        const signer = await ensureProfileSigner(ctx, caKey);
        contents.set('mobileconfig', signMobileconfig(profile, { ...signer, chainDer: [ca.der] }, ctx.now()));
      } else {
        contents.set('mobileconfig', profile);
      }
    }
  }

  recordCertificate(db, signed, command);
  // A new directory is 0700: it holds the PKCS#12 and keys.
  ensureOutputDir(outDir, 0o700);
  files.forEach((file, i) => writeOutput(targets[i]!, contents.get(file.role)!, file.mode));

  return {
    ...summarize(signed),
    files: Object.fromEntries(files.map((f, i) => [f.role, targets[i]!.path])),
    ...(generated ? { p12Password: password } : {}),
  };
}
