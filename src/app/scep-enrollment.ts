/**
 * `pocketca scep NAME`: a one-time SCEP enrollment (RFC 8894) served from the
 * laptop while the user stands next to the device (SPEC "Key born on the
 * device: SCEP"). The device makes its own key; pocketca certifies it once.
 *
 * It is a second handler on share's server (src/host/share-server.ts): the
 * same 144-bit token path, TTL, bounded bodies and token-blanked log.
 * `GET /<token>` serves NAME.mobileconfig once; `/<token>/scep` answers
 * GetCACaps, GetCACert and PKIOperation (GET and POST).
 *
 * Why plain HTTP is safe here: every PKIOperation is signed and encrypted
 * (RFC 8894 §3): the CSR travels encrypted to the CA key, the certificate
 * comes back encrypted to the device's key, and the profile pins the root
 * (CAFingerprint). What an eavesdropper gets from the profile download is the
 * challenge, which is spent by the one enrollment, dies with the TTL, and
 * only ever yields a certificate for CN=NAME that the user sees issued.
 */
import { createHash, timingSafeEqual, type KeyObject } from 'node:crypto';
import { DEFAULT_DAYS } from '../ca/certificate-profiles';
import { validateName } from '../formats/names';
import { canonicalPublicKey } from '../ca/public-key';
import { showText, subjectForCsr } from '../ca/subject';
import { InvalidScepMessageError, PocketcaError, ScepEnrollmentEndedError, ShareExpiredError, UsageError, ValidCertificateExistsError } from '../errors';
import { parseCsr } from '../formats/csr';
import { toPem } from '../formats/pem';
import { buildCertRep, CA_CAPS, MESSAGE_TYPE, openEnvelope, parsePkiMessage, pkiMessageFromGet, REJECTION_SECRET_BYTES, type CertRepResult, type ContentCipher, type FailInfo, type PkiMessage } from '../formats/scep';
import { commonNameFromDer } from '../formats/x500-name';
import { parseCertificate } from '../formats/x509';
import { recordEvent } from '../store/events';
import type { AppContext } from '../host/context';
import { PRIVATE } from '../host/files';
import { ensureOutputDir, resolveOutputDir, resolveOutputIn, writeOutput } from '../host/output-target';
import { recordCertificate, signCertificate, summarize, type IssuedSummary } from './issue-certificate';
import { MAX_CSR_BYTES } from '../host/limits';
import { formatDuration, startShare, type HandlerResponse, type ShareControl, type ShareRequestLog, type ShareSession } from '../host/share-server';
import { refuseSecondCertificate } from './find-certificate';
import { ensureProfileSigner } from './profile-signer';
import { unlockCaKey } from '../host/unlock';

/** Challenge bytes: 128 bits (SPEC), as 32 hex digits (a PrintableString in any client's CSR). */
export const CHALLENGE_BYTES = 16;
/** Refused PKIOperations after which the enrollment ends (exit 1): enough for a retyped mistake, too few to probe. */
export const DEFAULT_MAX_FAILURES = 5;
/** How long a finished enrollment still answers its client's retrieval (a repeated request of the same transaction). */
export const DEFAULT_RETRIEVAL_GRACE_MS = 8_000;
/** A PKIOperation carries a CSR, a self-signed certificate and CMS around them: a few kilobytes. */
export const MAX_PKI_MESSAGE_BYTES = 64 * 1024 + MAX_CSR_BYTES;
export const SCEP_KEY_SIZES = [2048, 4096] as const;

export interface ScepParams {
  /** Device NAME; the certificate's subject is exactly CN=NAME. */
  name: string;
  /** Where NAME.mobileconfig is written (0600). */
  outDir: string;
  /** Enroll even when NAME has a valid certificate, and replace an existing NAME.mobileconfig; default false. */
  force?: boolean;
  /** As for `share`: default every IPv4 interface. */
  bind?: string;
  /** Default a free port. */
  port?: number;
  /** Default 10 minutes. */
  ttlMs?: number;
  /** Certificate validity; default the client profile's 365. */
  days?: number;
  /** RSA key size the profile asks the device for; default 2048. */
  keySize?: number;
  /** Refused attempts before the enrollment ends; default 5. */
  maxFailures?: number;
  /** Default 8 seconds. */
  retrievalGraceMs?: number;
  /** Sign the profile (CMS) with the CA's profile-signing certificate, as `issue --sign-profile`; default false. */
  signProfile?: boolean;
  /** Each request, once answered (for the log on stderr). */
  onRequest?: (entry: ShareRequestLog) => void;
}

export interface ScepIssued extends IssuedSummary {
  pem: string;
  transactionId: string;
  /** The CSR's subject when more than CN=NAME was dropped, quoted and escaped for a terminal (showText), for a warning. */
  dropped?: string;
}

export interface ScepEnrollment {
  session: ShareSession;
  /** The profile link (`GET` once). */
  url: string;
  /** The SCEP URL in the profile. */
  scepUrl: string;
  profilePath: string;
  /** Resolves with the issued certificate after it was delivered; rejects with ScepEnrollmentEndedError. */
  done: Promise<ScepIssued>;
}

/** The CSR's challengePassword against the one-time challenge: SHA-256 digests (equal lengths) compared in constant time. */
function sameChallenge(given: string | undefined, expected: string): boolean {
  const h = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return given !== undefined && timingSafeEqual(h(given), h(expected));
}

export async function startScepEnrollment(ctx: AppContext, p: ScepParams): Promise<ScepEnrollment> {
  const name = validateName(p.name);
  const keySize = p.keySize ?? 2048;
  if (!(SCEP_KEY_SIZES as readonly number[]).includes(keySize)) throw new UsageError('--key-size must be 2048 or 4096 (what Apple devices make for SCEP)');
  const days = p.days ?? DEFAULT_DAYS.client;
  const maxFailures = p.maxFailures ?? DEFAULT_MAX_FAILURES;
  const ca = ctx.home.caCertificate();
  if (ca.publicKey.asymmetricKeyType !== 'rsa') {
    throw new UsageError(
      `the CA key is ${ca.publicKey.asymmetricKeyType?.toUpperCase() ?? 'not RSA'}: SCEP encrypts the request to the CA with RSA (RFC 8894 §3.1)`,
      `give this device an identity with: pocketca issue ${name}, then pocketca share ${name}.mobileconfig`,
    );
  }
  const db = ctx.home.database();
  if (!p.force) {
    try {
      refuseSecondCertificate(db, name, ctx.now().toISOString());
    } catch (error) {
      if (error instanceof ValidCertificateExistsError) {
        throw error.withHint(`revoke it first if the device was reset or replaced (pocketca revoke ${name}); --force enrolls another alongside it`);
      }
      throw error;
    }
  }
  // The output rule (src/host/output-target.ts), before anything is unlocked: an earlier SCEP profile of
  // this device holds a spent challenge and is replaced; anything else (its PKCS#12 profile) only with --force.
  const outDir = resolveOutputDir(ctx.home.dir, p.outDir, '--out-dir');
  const ownScep = `<string>ca.pocketca.${ca.fingerprintSha256.replace(/:/g, '').toLowerCase().slice(0, 16)}.${name}.scep</string>`;
  const target = resolveOutputIn(ctx.home.dir, outDir, `${name}.mobileconfig`, {
    flag: '--out-dir',
    what: `a SCEP profile of ${name} from this CA`,
    sameKind: (bytes) => bytes.includes(ownScep) || `is not an earlier SCEP profile of ${name}`,
    force: Boolean(p.force),
    existsHint: 'choose another --out-dir, move it away, or pass --force to replace it',
  });
  const profilePath = target.path;
  const caKey: KeyObject = await unlockCaKey(ctx, 'scep');
  const challenge = ctx.randomBytes(CHALLENGE_BYTES).toString('hex');
  // Implicit rejection (src/formats/scep.ts): one secret per enrollment, never stored.
  const rejectionSecret = ctx.randomBytes(REJECTION_SECRET_BYTES);
  const { buildScepMobileconfig, signMobileconfig } = await import('../formats/mobileconfig');
  const signer = p.signProfile ? await ensureProfileSigner(ctx, caKey) : undefined;
  const caName = commonNameFromDer(ca.subjectDer) ?? 'pocketca';

  let failures = 0;
  let issued: { summary: ScepIssued; der: Buffer; spkiDer: Buffer; cipher: ContentCipher } | undefined;
  let settle!: { resolve: (v: ScepIssued) => void; reject: (e: Error) => void };
  const done = new Promise<ScepIssued>((res, rej) => (settle = { resolve: res, reject: rej }));
  done.catch(() => undefined);

  const refuse = (why: string, transactionId?: string) => {
    failures += 1;
    recordEvent(db, { at: ctx.now().toISOString(), command: 'scep', outcome: 'refused', name, detail: transactionId ? `${why} (transaction ${transactionId})` : why });
  };
  const afterRefusal = (control: ShareControl) => () => {
    if (failures >= maxFailures && !issued) {
      control.fail(new ScepEnrollmentEndedError(`${failures} refused enrollment attempts; the enrollment is closed, nothing was issued`, `run pocketca scep ${name} again for a new challenge`));
    }
  };
  const certRep = (msg: PkiMessage, result: CertRepResult): Buffer => buildCertRep({ request: msg, result, ca: { certDer: ca.der, key: caKey }, randomBytes: ctx.randomBytes });
  const pkiAnswer = (body: Buffer, note: string, onSent?: () => void): HandlerResponse => ({ status: 200, contentType: 'application/x-pki-message', body, note, onSent });
  const failure = (msg: PkiMessage, failInfo: FailInfo, why: string, control: ShareControl): HandlerResponse => {
    refuse(why, msg.transactionId);
    return pkiAnswer(certRep(msg, { status: 'FAILURE', failInfo }), `refused: ${why}`, afterRefusal(control));
  };

  const pkiOperation = (der: Buffer, control: ShareControl): HandlerResponse => {
    let msg: PkiMessage;
    try {
      msg = parsePkiMessage(der);
    } catch (error) {
      if (!(error instanceof InvalidScepMessageError)) throw error;
      // Without a verified message there is no one to address a CertRep to (RFC 8894 §3.3.2): an HTTP error.
      refuse(`unreadable PKIOperation: ${error.message}`);
      return { status: 400, contentType: 'text/plain; charset=utf-8', body: Buffer.from('bad request\n'), note: `refused: ${error.message}`, onSent: afterRefusal(control) };
    }
    const retrieval = msg.messageType === MESSAGE_TYPE.PKCSReq || msg.messageType === MESSAGE_TYPE.CertPoll;
    if (!retrieval) return failure(msg, 'badRequest', `messageType ${msg.messageType} is not served (PKCSReq only)`, control);

    if (issued) {
      // The client's retrieval of the one result: the same transaction and key get the same certificate again.
      const signerSpki = canonicalSpkiOfCert(msg.signerCertDer);
      if (msg.transactionId === issued.summary.transactionId && signerSpki?.equals(issued.spkiDer)) {
        return pkiAnswer(certRep(msg, { status: 'SUCCESS', certificatesDer: [issued.der], cipher: issued.cipher }), 'certificate sent again');
      }
      return failure(msg, 'badRequest', 'this enrollment already issued its one certificate', control);
    }
    if (msg.messageType !== MESSAGE_TYPE.PKCSReq) return failure(msg, 'badRequest', 'nothing was issued yet to poll for', control);

    let opened;
    try {
      opened = openEnvelope(msg.envelope, { certDer: ca.der, key: caKey }, rejectionSecret);
    } catch (error) {
      if (!(error instanceof InvalidScepMessageError)) throw error;
      return failure(msg, error.failInfo, error.message, control);
    }
    let csr;
    let built;
    try {
      if (opened.content.length > MAX_CSR_BYTES) throw new UsageError(`the CSR is ${opened.content.length} bytes (limit ${MAX_CSR_BYTES})`);
      csr = parseCsr(opened.content, canonicalPublicKey);
      built = subjectForCsr(csr.subjectDer, name);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      return failure(msg, 'badRequest', error.message, control);
    }
    if (!sameChallenge(csr.challengePassword, challenge)) {
      return failure(msg, 'badRequest', csr.challengePassword === undefined ? 'the CSR has no challenge password' : 'wrong challenge password', control);
    }
    // The reply is encrypted to the signer's key: it must be the key being certified (RFC 8894 §2.3, PKCSReq with a self-signed certificate).
    const signerSpki = canonicalSpkiOfCert(msg.signerCertDer);
    if (!signerSpki || !signerSpki.equals(csr.acceptedKey.spkiDer)) {
      return failure(msg, 'badRequest', "the message is not signed with the CSR's key", control);
    }

    const signed = signCertificate(
      ca,
      caKey,
      { name, profile: 'client', source: 'sign', subject: built.subject, spkiDer: csr.acceptedKey.spkiDer, keyType: csr.acceptedKey.kind, sans: { dns: [], ip: [], email: [] }, days },
      ctx.now(),
      ctx.randomBytes,
    );
    recordCertificate(db, signed, 'scep', `client; transaction ${msg.transactionId}`);
    const summary: ScepIssued = {
      ...summarize(signed),
      pem: toPem('CERTIFICATE', signed.der),
      transactionId: msg.transactionId,
      ...(built.dropped !== undefined ? { dropped: showText(built.dropped) } : {}),
    };
    issued = { summary, der: signed.der, spkiDer: csr.acceptedKey.spkiDer, cipher: opened.cipher };
    const onSent = () => {
      setTimeout(() => control.finish(), p.retrievalGraceMs ?? DEFAULT_RETRIEVAL_GRACE_MS).unref();
    };
    return pkiAnswer(certRep(msg, { status: 'SUCCESS', certificatesDer: [signed.der], cipher: opened.cipher }), `issued ${summary.serial} to ${summary.subject}`, onSent);
  };

  const text = (status: number, body: string, note?: string): HandlerResponse => ({ status, contentType: 'text/plain; charset=utf-8', body: Buffer.from(body), ...(note ? { note } : {}) });

  const session = await startShare({
    file: {
      path: profilePath,
      load: (url) => {
        const profile = Buffer.from(
          buildScepMobileconfig({ deviceName: name, url: `${url}/scep`, challenge, keySize: keySize as 2048 | 4096, caCertDer: ca.der, caName, caFingerprint: ca.fingerprintSha256 }),
          'utf8',
        );
        const bytes = signer ? signMobileconfig(profile, { ...signer, chainDer: [ca.der] }, ctx.now()) : profile;
        ensureOutputDir(outDir, 0o700);
        writeOutput(target, bytes, PRIVATE);
        return bytes;
      },
    },
    bind: p.bind,
    port: p.port,
    maxDownloads: 1,
    ttlMs: p.ttlMs,
    randomBytes: ctx.randomBytes,
    now: ctx.now,
    onRequest: p.onRequest,
    handler: {
      path: '/scep',
      maxBodyBytes: MAX_PKI_MESSAGE_BYTES,
      handle: ({ method, query, body }, control) => {
        const operation = query.get('operation') ?? '';
        switch (operation) {
          case 'GetCACaps':
            return text(200, CA_CAPS.join('\n') + '\n', operation);
          case 'GetCACert':
            // One CA, no RA: the certificate itself (RFC 8894 §4.2.1.1).
            return { status: 200, contentType: 'application/x-x509-ca-cert', body: ca.der, note: operation };
          case 'PKIOperation': {
            const der = method === 'POST' ? body : pkiMessageFromGet(query.get('message') ?? '');
            if (!der || der.length === 0) return text(400, 'bad request\n', 'PKIOperation without a message');
            if (der.length > MAX_PKI_MESSAGE_BYTES) return text(413, 'request too large\n', 'PKIOperation too large');
            return pkiOperation(der, control);
          }
          default:
            return text(400, 'unknown operation\n', `unknown operation ${showText(operation, 32)}`);
        }
      },
    },
  });

  session.done.then(
    () => (issued ? settle.resolve(issued.summary) : settle.reject(new ScepEnrollmentEndedError('the enrollment closed with no certificate issued'))),
    (error: Error) => {
      if (issued) return settle.resolve(issued.summary);
      if (error instanceof ShareExpiredError) {
        return settle.reject(new ScepEnrollmentEndedError(`the enrollment expired (--ttl ${formatDuration(session.ttlMs)}) with no certificate issued`, `run pocketca scep ${name} again (a longer one with --ttl 30m)`));
      }
      settle.reject(error instanceof PocketcaError ? error : new ScepEnrollmentEndedError(error.message));
    },
  );
  return { session, url: session.url, scepUrl: `${session.url}/scep`, profilePath, done };
}

/** The signer certificate's key, re-encoded as `sign` would (undefined when it is not a key pocketca accepts). */
function canonicalSpkiOfCert(certDer: Buffer): Buffer | undefined {
  try {
    return canonicalPublicKey(parseCertificate(certDer).spkiDer).spkiDer;
  } catch {
    return undefined;
  }
}
