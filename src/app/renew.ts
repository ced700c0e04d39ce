/**
 * `pocketca renew SERIAL|NAME`: a new certificate for the same device and
 * subject (same name, profile, CN, SANs, validity length, key type and size; for a
 * client a new PKCS#12 and a profile with the same stable identifiers, so the
 * phone replaces the old one), then the old certificate revoked as
 * `superseded` and the CRL re-signed, in one run.
 *
 * The new certificate is recorded and written before the old one is revoked:
 * a run killed half-way leaves the device with two valid certificates, never
 * with none, and running the same `renew NAME` again finishes the job (it
 * supersedes every valid certificate of the name).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { keySpecOf } from '../ca/key-types';
import { CertificateAlreadyRevokedError, UsageError, ValidCertificateExistsError } from '../errors';
import type { Pkcs12Format } from '../formats/pkcs12';
import { commonNameFromDer } from '../formats/x500-name';
import { basicConstraintsOf, parseCertificate, subjectAltNamesOf } from '../formats/x509';
import { certificateDer, findBySerial, statusOf, type CertificateRow, type Status } from '../store/certificates';
import type { Db } from '../store/database';
import type { AppContext } from '../host/context';
import { checkpoint, PUBLIC } from '../host/files';
import { findValid } from './find-certificate';
import { deviceOutputs, issueIdentity, type IssueResult } from './issue-identity';
import { ensureOutputDir, resolveOutputDir, writeOutput, type OutputDir } from '../host/output-target';
import { revokeCertificates } from './revoke';
import { signCsr } from './sign-csr';

const DAY_MS = 86_400_000;

export interface RenewParams {
  /** SERIAL|NAME of the certificate to renew. */
  ref: string;
  /** Leave the old certificate valid until it expires; default false (revoked as superseded). */
  keepOld: boolean;
  /** Validity of the new certificate in days; default the old one's. */
  days?: number;
  /** The device's new CSR (PEM or DER), for a certificate that came from `sign`; default none. */
  csr?: Buffer;
  /** Where the new files go, replacing the old ones of the same name; default the current directory. */
  outDir: string;
  /** rsa or ec; default the old key's type. */
  keyType?: string;
  /** EC curve; default the old key's (P-256 when the old key is RSA). */
  curve?: string;
  /** RSA modulus size of the new key; default the old key's. */
  keySize?: number;
  /** Client: also write NAME.key.pem; default true when the out dir holds one already. */
  keepKey?: boolean;
  /** Client: write NAME.mobileconfig; default true. */
  mobileconfig: boolean;
  /** PKCS#12 encryption; default legacy (what iOS imports). */
  p12Format: Pkcs12Format;
  /** Put the PKCS#12 password inside the profile; default false. */
  profilePassword: boolean;
  /** Sign the profile; default false. */
  signProfile: boolean;
  /** The PKCS#12 password the user chose, or undefined to generate one. */
  p12Password?: string;
  /** Replace files in outDir that are not the device's own earlier files; default false. */
  force?: boolean;
}

export interface RenewResult extends IssueResult {
  /** The certificates this one replaces, and what became of them. */
  replaced: { serial: string; status: Status; reason: string | null }[];
  /** The CRL signed for the revocations (absent with keepOld). */
  crlNumber?: number;
  crlPath?: string;
}

/**
 * What a SERIAL|NAME renews: the certificates in use, newest last (for a
 * name, every valid one: a device has one certificate in use, and a renewal
 * interrupted after its new certificate was recorded leaves two); if none is
 * valid, the newest expired one. Never a revoked one.
 */
function certificatesToRenew(db: Db, ref: string, now: string): CertificateRow[] {
  const live = findValid(db, ref, now);
  if (live.length === 0) {
    throw new CertificateAlreadyRevokedError(
      `${JSON.stringify(ref)} is revoked: there is no certificate in use to renew`,
      'issue a new one with `pocketca issue NAME --force` (or `pocketca sign` for a CSR)',
    );
  }
  const valid = live.filter((r) => statusOf(r, now) === 'valid');
  return valid.length > 0 ? valid : live.slice(-1);
}

export async function renew(ctx: AppContext, p: RenewParams): Promise<RenewResult> {
  const db = ctx.home.database();
  const olds = certificatesToRenew(db, p.ref, ctx.now().toISOString());
  const old = olds[olds.length - 1]!;
  if (old.source === 'internal') {
    throw new UsageError('the profile-signing certificate is internal', '`pocketca issue --sign-profile` makes a new one when it nears expiry');
  }
  if (old.source === 'scep' && !p.csr) {
    // Its key lives on the device, which enrolls again by SCEP; the profile replaces the old one there.
    throw new UsageError(
      `certificate ${old.serial} (${old.name}) was enrolled by SCEP: its key never left the device`,
      `renew it with pocketca scep ${old.name} (the device installs the new profile; the old certificate is then revoked as superseded)`,
    );
  }
  const der = certificateDer(db, old.serial)!;
  const sans = subjectAltNamesOf(der);
  const days = p.days ?? Math.max(1, Math.round((Date.parse(old.notAfter) - Date.parse(old.notBefore)) / DAY_MS));
  const profile = old.profile as 'client' | 'server' | 'intermediate';
  const dir = resolveOutputDir(ctx.home.dir, p.outDir, '--out-dir');
  // Recorded only while these are the name's only valid certificates: a second renew racing this one records nothing.
  const supersedes = olds.map((o) => o.serial);
  try {
    return await renewAs(ctx, p, { olds, old, der, sans, days, profile, dir, supersedes });
  } catch (error) {
    if (!(error instanceof ValidCertificateExistsError)) throw error;
    throw new ValidCertificateExistsError(
      `${old.name} got another certificate while this renewal ran (another pocketca run?): ${error.message}`,
      `\`pocketca list --all\` shows its certificates; \`pocketca renew ${old.name}\` again replaces every valid one`,
    );
  }
}

interface RenewPlan {
  olds: CertificateRow[];
  old: CertificateRow;
  der: Buffer;
  sans: ReturnType<typeof subjectAltNamesOf>;
  days: number;
  profile: 'client' | 'server' | 'intermediate';
  dir: OutputDir;
  supersedes: readonly string[];
}

async function renewAs(ctx: AppContext, p: RenewParams, { olds, old, der, sans, days, profile, dir, supersedes }: RenewPlan): Promise<RenewResult> {
  const db = ctx.home.database();
  const outDir = dir.path;
  let issued: IssueResult;
  if (old.source === 'sign' || p.csr) {
    // Its key lives on the device: only the device can make the next one.
    if (!p.csr) {
      throw new UsageError(
        `certificate ${old.serial} (${old.name}) was signed from a CSR: its key never left the device`,
        `make a new CSR on the device, then run \`pocketca renew ${old.serial} --csr FILE\``,
      );
    }
    if (p.keyType !== undefined || p.curve !== undefined || p.keySize !== undefined) {
      throw new UsageError('--key-type, --curve and --key-size choose a key pocketca makes; this device makes its own', 'make the new CSR with the key you want');
    }
    const [target] = deviceOutputs(ctx, dir, old.name, [{ role: 'cert', path: join(outDir, `${old.name}.pem`) }], Boolean(p.force), true);
    const oldCn = commonNameFromDer(parseCertificate(der).subjectDer) ?? old.name;
    // An intermediate keeps its pathLen; the online engine makes the new CSR (README).
    const pathLen = profile === 'intermediate' ? (basicConstraintsOf(der).pathLen ?? 0) : undefined;
    const signed = await signCsr(ctx, { csr: p.csr, profile, name: old.name, days, ...sans, command: 'renew', commonName: oldCn, pathLen, supersedes });
    ensureOutputDir(dir, 0o700);
    writeOutput(target!, signed.pem, PUBLIC);
    const { pem: _pem, ignored: _ignored, ...rest } = signed;
    issued = { ...rest, files: { cert: target!.path } };
  } else {
    const parsed = parseCertificate(der);
    issued = await issueIdentity(ctx, {
      name: old.name,
      profile: profile as 'client' | 'server',
      cn: commonNameFromDer(parsed.subjectDer) ?? old.name,
      ...sans,
      days,
      keyType: p.keyType,
      curve: p.curve,
      keySize: p.keySize,
      baseKey: keySpecOf(parsed.publicKey),
      outDir,
      keepKey: p.keepKey ?? existsSync(join(outDir, `${old.name}.key.pem`)),
      mobileconfig: p.mobileconfig,
      p12Format: p.p12Format,
      profilePassword: p.profilePassword,
      signProfile: p.signProfile,
      p12Password: p.p12Password,
      // Renewing means replacing the old files of this name (and only those, without --force).
      force: Boolean(p.force),
      command: 'renew',
      supersedes,
    });
  }
  checkpoint('renew:issued');

  const nowIso = ctx.now().toISOString();
  if (p.keepOld) return { ...issued, replaced: olds.map((o) => ({ serial: o.serial, status: statusOf(o, nowIso), reason: null })) };
  // One another process revoked meanwhile is skipped: what renew wanted is done.
  const done = await revokeCertificates(ctx, olds, 'superseded', 'renew', { skipRevoked: true });
  const replaced = olds.map((o) => ({ serial: o.serial, status: 'revoked' as const, reason: findBySerial(db, o.serial)?.reason ?? null }));
  return done.crlNumber === undefined ? { ...issued, replaced } : { ...issued, replaced, crlNumber: done.crlNumber, crlPath: ctx.home.crlPath };
}
