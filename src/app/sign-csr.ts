/**
 * `pocketca sign CSR`: a certificate for a key that never leaves its device.
 * The CSR's signature must verify; nothing of it is copied (SPEC `sign`,
 * "Trust boundary"): the subject is built as `CN=<cn>` (src/ca/subject.ts),
 * the key is checked and re-encoded (src/ca/public-key.ts), the requested
 * extensions are ignored, and SANs come from the CSR only for the server
 * profile, checked like the flags.
 */
import { checkEndEntity, checkIntermediate, daysLeftOf, DEFAULT_DAYS, type ProfileName } from '../ca/certificate-profiles';
import { sanitizeName, validateName } from '../formats/names';
import { canonicalPublicKey, type CanonicalPublicKey } from '../ca/public-key';
import { showText, subjectForCsr, type CsrSubject } from '../ca/subject';
import { hasSans, validateSans } from '../ca/subject-alt-names';
import { InvalidCsrError, UsageError } from '../errors';
import { parseCsr, type ParsedCsr } from '../formats/csr';
import { toPem } from '../formats/pem';
import { recordEvent } from '../store/events';
import type { AppContext } from '../host/context';
import { MAX_CSR_BYTES } from '../host/limits';
import { recordCertificate, signCertificate, summarize, type IssuedSummary } from './issue-certificate';
import { unlockCaKey } from '../host/unlock';
import { writeBundle } from './bundle';

export { MAX_CSR_BYTES };

export interface SignParams {
  csr: Buffer;
  profile: Exclude<ProfileName, 'profile-signer'>;
  /** The certificate's CN; default the CSR's single CN (SPEC "`sign` builds the subject itself"). */
  cn?: string;
  /** Record name; default the CN, sanitised. */
  name?: string;
  days?: number;
  email: string[];
  dns: string[];
  ip: string[];
  /** The command recorded in the audit log; default 'sign'. */
  command?: 'sign' | 'renew';
  /** `renew --csr`: the CN the CSR must carry (the renewed certificate's); default any. */
  commonName?: string;
  /** `--profile intermediate`: the subordinate CA's pathLenConstraint; default 0. */
  pathLen?: number;
  /** `renew --csr`: the serials it replaces, the only certificates of the name that may be valid when it records (see IssueParams); default no rule (`sign`). */
  supersedes?: readonly string[];
}

export interface SignResult extends IssuedSummary {
  pem: string;
  /** Requested extensions and subject attributes that were not honoured, for a warning. */
  ignored: string[];
}

export async function signCsr(ctx: AppContext, p: SignParams): Promise<SignResult> {
  const command = p.command ?? 'sign';
  const db = ctx.home.database();
  const ca = ctx.home.caCertificate();
  let csr: ParsedCsr<CanonicalPublicKey>;
  let built: CsrSubject;
  try {
    if (p.csr.length > MAX_CSR_BYTES) throw new InvalidCsrError(`the CSR is ${p.csr.length} bytes; a CSR is a few kilobytes (limit ${MAX_CSR_BYTES})`);
    // The key is checked (and re-encoded) before the signature: a DSA or P-192 key is refused as such.
    csr = parseCsr(p.csr, canonicalPublicKey);
    built = subjectForCsr(csr.subjectDer, p.cn);
  } catch (error) {
    if (error instanceof UsageError) {
      recordEvent(db, { at: ctx.now().toISOString(), command, outcome: 'refused', detail: error.message });
    }
    throw error;
  }
  const { subject } = built;
  if (p.commonName !== undefined && subject.commonName !== p.commonName) {
    throw new UsageError(
      `the CSR's subject ${showText(subject.text)} differs from the certificate's ${showText(`CN=${p.commonName}`)}`,
      'renew keeps the subject; for another subject use `pocketca sign`',
    );
  }
  const name = validateName(p.name ?? (sanitizeName(subject.commonName) || 'device'));
  const explicit = validateSans({ dns: p.dns, ip: p.ip, email: p.email });
  const ignored: string[] = [];
  if (built.dropped !== undefined) ignored.push(`subject ${showText(built.dropped)} (issued as ${subject.text})`);
  let sans = explicit;
  if (p.profile === 'intermediate') {
    // A CA certificate names no host: its SANs would be checked by nobody.
    if (hasSans(explicit)) throw new UsageError('an intermediate CA certificate carries no subject alternative names', 'drop --dns/--ip/--email');
    if (hasSans(csr.requestedSans)) ignored.push('subjectAltName');
  } else if (!hasSans(explicit) && p.profile === 'server') sans = validateSans(csr.requestedSans);
  else if (hasSans(csr.requestedSans) && p.profile !== 'server') ignored.push('subjectAltName (use --dns/--ip/--email)');
  if (csr.requestsCa && p.profile !== 'intermediate') ignored.push('CA:TRUE');
  // SPEC: an intermediate's default 1825 days stop at the root's notAfter; an explicit --days beyond it is refused.
  const days = p.days ?? (p.profile === 'intermediate' ? Math.min(DEFAULT_DAYS.intermediate, daysLeftOf(ca, ctx.now())) : DEFAULT_DAYS[p.profile]);
  if (p.profile === 'server' && !hasSans(sans)) {
    throw new UsageError('a server certificate needs at least one subject alternative name', 'put SANs in the CSR or add --dns NAME / --ip ADDRESS');
  }
  // What signing would refuse, before the passphrase is asked (an old root can never sign an intermediate; a --days past the root).
  if (p.profile === 'intermediate') checkIntermediate(ca, { pathLen: p.pathLen ?? 0, days, now: ctx.now() });
  else checkEndEntity(ca, { profile: p.profile, commonName: subject.commonName, sans, days, now: ctx.now() });

  const caKey = await unlockCaKey(ctx, command);
  const key = csr.acceptedKey;
  const signed = signCertificate(
    ca,
    caKey,
    { name, profile: p.profile, source: 'sign', subject, spkiDer: key.spkiDer, keyType: key.kind, sans, days, pathLen: p.pathLen },
    ctx.now(),
    ctx.randomBytes,
  );
  // `sign` may certify a name again (a device's second key); a renewal only while what it replaces is all that is valid.
  recordCertificate(db, signed, command, command === 'renew' ? (p.supersedes ?? []) : 'any');
  if (p.profile === 'intermediate') writeBundle(ctx);
  return {
    ...summarize(signed),
    pem: toPem('CERTIFICATE', signed.der),
    ignored,
  };
}
