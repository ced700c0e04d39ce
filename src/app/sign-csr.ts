/**
 * `pocketca sign CSR`: a certificate for a key that never leaves its device.
 * The CSR's signature must verify; its requested extensions are never copied
 * (SPEC `sign`): SANs come from the CSR only for the server profile.
 */
import { DEFAULT_DAYS, type ProfileName } from '../ca/certificate-profiles';
import { sanitizeName, validateName } from '../ca/names';
import { hasSans, validateSans } from '../ca/subject-alt-names';
import { CsrSignatureError, InvalidCsrError, UsageError } from '../errors';
import { parseCsr, type ParsedCsr } from '../formats/csr';
import { toPem } from '../formats/pem';
import { recordEvent } from '../store/events';
import type { AppContext } from './context';
import { MAX_CSR_BYTES } from './limits';
import { recordCertificate, signCertificate, summarize, type IssuedSummary } from './issue-certificate';
import { unlockCaKey } from './unlock';

export { MAX_CSR_BYTES };

export interface SignParams {
  csr: Buffer;
  profile: Exclude<ProfileName, 'profile-signer'>;
  /** Record name; default the CSR's CN, sanitised. */
  name?: string;
  days?: number;
  email: string[];
  dns: string[];
  ip: string[];
  /** The command recorded in the audit log; default 'sign'. */
  command?: 'sign' | 'renew';
  /** `renew --csr`: the subject (as `list` shows it) the CSR must carry; default any. */
  subject?: string;
}

export interface SignResult extends IssuedSummary {
  pem: string;
  /** Requested extensions that were not honoured, for a warning. */
  ignored: string[];
}

export async function signCsr(ctx: AppContext, p: SignParams): Promise<SignResult> {
  const command = p.command ?? 'sign';
  const db = ctx.home.database();
  const ca = ctx.home.caCertificate();
  let csr: ParsedCsr;
  try {
    if (p.csr.length > MAX_CSR_BYTES) throw new InvalidCsrError(`the CSR is ${p.csr.length} bytes; a CSR is a few kilobytes (limit ${MAX_CSR_BYTES})`);
    csr = parseCsr(p.csr);
    if (!csr.commonName) throw new InvalidCsrError('the CSR has no common name (CN) in its subject', 'make the CSR with a subject like /CN=device-name');
  } catch (error) {
    if (error instanceof InvalidCsrError || error instanceof CsrSignatureError) {
      recordEvent(db, { at: ctx.now().toISOString(), command, outcome: 'refused', detail: error.message });
    }
    throw error;
  }
  if (p.subject !== undefined && csr.subjectText !== p.subject) {
    throw new UsageError(
      `the CSR's subject ${JSON.stringify(csr.subjectText)} differs from the certificate's ${JSON.stringify(p.subject)}`,
      'renew keeps the subject; for another subject use `pocketca sign`',
    );
  }
  const name = validateName(p.name ?? (sanitizeName(csr.commonName) || 'device'));
  const explicit = validateSans({ dns: p.dns, ip: p.ip, email: p.email });
  const ignored: string[] = [];
  let sans = explicit;
  if (!hasSans(explicit) && p.profile === 'server') sans = validateSans(csr.requestedSans);
  else if (hasSans(csr.requestedSans) && p.profile !== 'server') ignored.push('subjectAltName (use --dns/--ip/--email)');
  if (csr.requestsCa) ignored.push('CA:TRUE');
  const days = p.days ?? DEFAULT_DAYS[p.profile];
  if (p.profile === 'server' && !hasSans(sans)) {
    throw new UsageError('a server certificate needs at least one subject alternative name', 'put SANs in the CSR or add --dns NAME / --ip ADDRESS');
  }

  const caKey = await unlockCaKey(ctx, command);
  const signed = signCertificate(
    ca,
    caKey,
    { name, profile: p.profile, source: 'sign', subjectDer: csr.subjectDer, subject: csr.subject, spkiDer: csr.spkiDer, keyType: csr.keyType, sans, days },
    ctx.now(),
    ctx.randomBytes,
  );
  recordCertificate(db, signed, command);
  return {
    ...summarize(signed),
    pem: toPem('CERTIFICATE', signed.der),
    ignored,
  };
}
