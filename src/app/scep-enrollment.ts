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
 * Plain HTTP: every PKIOperation is signed and encrypted (RFC 8894 §3): the
 * CSR travels encrypted to the CA key, the certificate comes back encrypted
 * to the device's key, and the profile pins the root (CAFingerprint). What
 * an eavesdropper gets from the profile download is the challenge. It is
 * spent by the one enrollment and dies with the TTL, and its use by a second
 * party is detected (SPEC "SCEP under a hostile LAN"):
 * - after it issues, the enrollment keeps listening for a watch window
 *   (15 s; to --ttl when the certificate went to another address than the
 *   one that downloaded the profile: the device may still come). A PKCSReq
 *   with the spent challenge and another key means two parties held it, in
 *   either order: the device first and a thief second, or a thief first (the
 *   device then gets FAILURE) and the device second. Either way the issued
 *   certificate is revoked (keyCompromise), the CRL re-signed, and the run
 *   ends with exit 1 naming the serial and fingerprint to compare;
 * - refused attempts (5) are counted before any decryption, so no request
 *   past the bound is decrypted, also when many arrive at once; reaching the
 *   bound during the watch revokes too (the watch could not finish);
 * - messages are bounded before any cryptography (src/formats/scep.ts);
 *   any malformed one is a 400, recorded as refused; no request ends the run.
 *
 * `pocketca scep NAME` when NAME holds valid SCEP-enrolled certificates is
 * their renewal: the profile has the same identifiers (the device replaces
 * the old one), and after a clean watch the old certificates are revoked as
 * superseded and the CRL re-signed in the same run.
 */
import { createHash, timingSafeEqual, type KeyObject } from 'node:crypto';
import { checkEndEntity, DEFAULT_DAYS } from '../ca/certificate-profiles';
import { validateName } from '../formats/names';
import { canonicalPublicKey } from '../ca/public-key';
import { showText, subjectForCsr } from '../ca/subject';
import {
  InvalidScepMessageError,
  PocketcaError,
  ScepEnrollmentCompromisedError,
  ScepEnrollmentEndedError,
  ShareExpiredError,
  UsageError,
  ValidCertificateExistsError,
} from '../errors';
import { parseCsr } from '../formats/csr';
import { toPem } from '../formats/pem';
import {
  buildCertRep,
  CA_CAPS,
  MESSAGE_TYPE,
  openEnvelope,
  parsePkiMessage,
  pkiMessageFromGet,
  REJECTION_SECRET_BYTES,
  type CertRepResult,
  type ContentCipher,
  type FailInfo,
  type PkiMessage,
} from '../formats/scep';
import { commonNameFromDer } from '../formats/x500-name';
import { parseCertificate } from '../formats/x509';
import { findByName, findBySerial, statusOf, type CertificateRow, type Status } from '../store/certificates';
import { recordEvent } from '../store/events';
import type { AppContext } from '../host/context';
import { PRIVATE } from '../host/files';
import { ensureOutputDir, resolveOutputDir, resolveOutputIn, writeOutput } from '../host/output-target';
import { recordCertificate, signCertificate, summarize, type IssuedSummary } from './issue-certificate';
import { MAX_CSR_BYTES } from '../host/limits';
import { DEFAULT_TTL_MS, formatDuration, startShare, type HandlerResponse, type ShareControl, type ShareRequestLog, type ShareSession } from '../host/share-server';
import { refuseSecondCertificate } from './find-certificate';
import { ensureProfileSigner } from './profile-signer';
import { revokeCertificates } from './revoke';
import { unlockCaKey } from '../host/unlock';

/** Challenge bytes: 128 bits (SPEC), as 32 hex digits (a PrintableString in any client's CSR). */
export const CHALLENGE_BYTES = 16;
/** Refused PKIOperations after which the enrollment ends (exit 1): enough for a retyped mistake, too few to probe. */
export const DEFAULT_MAX_FAILURES = 5;
/**
 * How long the enrollment keeps listening after it issued (SPEC: 15 s): a
 * second use of the challenge is detected in it, and the client's retrieval
 * of its certificate (a repeated request of the same transaction) answered.
 */
export const WATCH_WINDOW_MS = 15_000;
/** A PKIOperation carries a CSR, a self-signed certificate and CMS around them: a few kilobytes. */
export const MAX_PKI_MESSAGE_BYTES = 64 * 1024 + MAX_CSR_BYTES;
export const SCEP_KEY_SIZES = [2048, 4096] as const;

export interface ScepParams {
  /** Device NAME; the certificate's subject is exactly CN=NAME. */
  name: string;
  /** Where NAME.mobileconfig is written (0600). */
  outDir: string;
  /** Enroll even when NAME has a valid certificate that is not SCEP-enrolled, and replace an existing NAME.mobileconfig; default false. */
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
  /** The watch window after issuing; default WATCH_WINDOW_MS (15 s). */
  watchMs?: number;
  /** Sign the profile (CMS) with the CA's profile-signing certificate, as `issue --sign-profile`; default false. */
  signProfile?: boolean;
  /** Each request, once answered (for the log on stderr). */
  onRequest?: (entry: ShareRequestLog) => void;
  /** The certificate was issued; the watch runs until `watch.until`. */
  onIssued?: (issued: ScepIssued, watch: ScepWatch) => void;
}

export interface ScepIssued extends IssuedSummary {
  pem: string;
  transactionId: string;
  /** The address the certificate was sent to. */
  remoteAddress: string;
  /** The CSR's subject when more than CN=NAME was dropped, quoted and escaped for a terminal (showText), for a warning. */
  dropped?: string;
}

export interface ScepWatch {
  until: Date;
  /** Why the watch runs to --ttl instead of WATCH_WINDOW_MS, for a warning; absent when it does not. */
  extended?: string;
}

export interface ScepResult extends ScepIssued {
  /** Renewal: the SCEP-enrolled certificates of NAME this one replaces, now revoked (superseded). */
  replaced: { serial: string; status: Status; reason: string | null }[];
  /** The CRL signed for them (a renewal). */
  crlNumber?: number;
  crlPath?: string;
  /** Set when the watch was extended (see ScepWatch.extended) and ran to its end with no second party. */
  extended?: string;
}

export interface ScepEnrollment {
  session: ShareSession;
  /** The profile link (`GET` once). */
  url: string;
  scepUrl: string;
  profilePath: string;
  /** The valid SCEP-enrolled certificates of NAME this enrollment renews (superseded once it issued and watched). */
  renewing: { serial: string; notAfter: string }[];
  /**
   * Resolves after the watch with the issued certificate; rejects with
   * ScepEnrollmentEndedError (nothing issued) or ScepEnrollmentCompromisedError
   * (issued, then revoked).
   */
  done: Promise<ScepResult>;
}

/** The CSR's challengePassword against the one-time challenge: SHA-256 digests (equal lengths) compared in constant time. */
function sameChallenge(given: string | undefined, expected: string): boolean {
  const h = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return given !== undefined && timingSafeEqual(h(given), h(expected));
}

const clock = (d: Date | string) => new Date(d).toISOString().slice(11, 19) + ' UTC';

export async function startScepEnrollment(ctx: AppContext, p: ScepParams): Promise<ScepEnrollment> {
  const name = validateName(p.name);
  const keySize = p.keySize ?? 2048;
  if (!(SCEP_KEY_SIZES as readonly number[]).includes(keySize)) throw new UsageError('--key-size must be 2048 or 4096 (what Apple devices make for SCEP)');
  const days = p.days ?? DEFAULT_DAYS.client;
  const maxFailures = p.maxFailures ?? DEFAULT_MAX_FAILURES;
  const ttlMs = p.ttlMs ?? DEFAULT_TTL_MS;
  const ca = ctx.home.caCertificate();
  if (ca.publicKey.asymmetricKeyType !== 'rsa') {
    throw new UsageError(
      `the CA key is ${ca.publicKey.asymmetricKeyType?.toUpperCase() ?? 'not RSA'}: SCEP encrypts the request to the CA with RSA (RFC 8894 §3.1)`,
      `give this device an identity with: pocketca issue ${name}, then pocketca share ${name}.mobileconfig`,
    );
  }
  // What `sign` would refuse for CN=NAME (--days past the CA's notAfter, a name outside the root's
  // constraints) is refused now, before a device installs a profile that cannot enroll: checked at
  // the latest time this enrollment may issue (--ttl from now).
  if (Number.isFinite(ttlMs) && ttlMs > 0) {
    checkEndEntity(ca, { profile: 'client', days, sans: { dns: [], ip: [], email: [] }, commonName: name, now: new Date(ctx.now().getTime() + ttlMs) });
  }
  const db = ctx.home.database();
  const nowIso = ctx.now().toISOString();
  const valid = findByName(db, name).filter((r) => statusOf(r, nowIso) === 'valid');
  // A valid SCEP-enrolled certificate is renewed in place; any other valid one keeps issue's rule.
  const renewing = valid.filter((r) => r.source === 'scep');
  if (!p.force && valid.length > renewing.length) {
    try {
      refuseSecondCertificate(db, name, nowIso);
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

  /** Refused attempts, each counted before its message is read or decrypted; a request that succeeds gives its count back. */
  let refused = 0;
  let issued: { summary: ScepIssued; issuedAt: string; der: Buffer; spkiDer: Buffer; cipher: ContentCipher; extended?: string } | undefined;
  /** Where the profile was downloaded from (the device, unless someone else took the link). */
  let profileAddress: string | undefined;
  /** Set when the issued certificate cannot be vouched for: the run ends with this error, after the revocation. */
  let verdict: Promise<Error> | undefined;
  let settle!: { resolve: (v: ScepResult) => void; reject: (e: Error) => void };
  const done = new Promise<ScepResult>((res, rej) => (settle = { resolve: res, reject: rej }));
  done.catch(() => undefined);

  const refusedEvent = (detail: string) => recordEvent(db, { at: ctx.now().toISOString(), command: 'scep', outcome: 'refused', name, detail });
  const certRep = (msg: PkiMessage, result: CertRepResult): Buffer => buildCertRep({ request: msg, result, ca: { certDer: ca.der, key: caKey }, randomBytes: ctx.randomBytes });
  const pkiAnswer = (body: Buffer, note: string): HandlerResponse => ({ status: 200, contentType: 'application/x-pki-message', body, note });
  const text = (status: number, body: string, note?: string): HandlerResponse => ({ status, contentType: 'text/plain; charset=utf-8', body: Buffer.from(body), ...(note ? { note } : {}) });

  /**
   * The end of a run whose certificate cannot be vouched for: revoke it
   * (keyCompromise) and re-sign the CRL, stop serving, and end with the
   * error that says what happened and what the device shows to compare.
   */
  const compromised = (message: string, details: string[], control: ShareControl) => {
    const serial = issued!.summary.serial;
    const row = findBySerial(db, serial)!;
    verdict = revokeCertificates(ctx, [row], 'keyCompromise', 'scep', { skipRevoked: true }).then(
      (result) =>
        new ScepEnrollmentCompromisedError(
          `${message}: certificate ${serial} was revoked (keyCompromise) and the CRL re-signed`,
          `copy ${ctx.home.crlPath} to the proxy; remove ${name}'s profile from the device if it installed; then run pocketca scep ${name} again on a network only you use`,
          [...details, `  revoked      keyCompromise${result.crlNumber === undefined ? ' (already)' : `, CRL number ${result.crlNumber}`}: ${ctx.home.crlPath}`],
        ),
      (error: unknown) =>
        new ScepEnrollmentCompromisedError(
          `${message}; revoking certificate ${serial} failed: ${error instanceof Error ? error.message : String(error)}`,
          `revoke it now: pocketca revoke ${serial} --reason keyCompromise, then copy crl.pem to the proxy`,
          details,
        ),
    );
    control.fail(new ScepEnrollmentEndedError('the enrollment ends: its certificate is being revoked'));
  };

  /** What to compare with the device: the serial and SHA-256 fingerprint of the certificate issued, when and to which address. */
  const issuedLines = (certificate: NonNullable<typeof issued>): string[] => [
    `  certificate  ${certificate.summary.serial} (serial), issued ${clock(certificate.issuedAt)} to ${certificate.summary.remoteAddress}`,
    `  SHA-256      ${certificate.summary.fingerprintSha256}`,
  ];

  /** A refusal: recorded, counted (its count was reserved before), and the bound applied. */
  const refusal = (why: string, control: ShareControl, transactionId?: string) => {
    refusedEvent(transactionId ? `${why} (transaction ${transactionId})` : why);
    if (refused < maxFailures || verdict) return;
    if (!issued) {
      control.fail(new ScepEnrollmentEndedError(`${refused} refused enrollment attempts; the enrollment is closed, nothing was issued`, `run pocketca scep ${name} again for a new challenge`));
      return;
    }
    // The watch cannot go on without decrypting: a second use of the challenge would go unseen.
    compromised(`${refused} refused enrollment attempts after ${name}'s certificate was issued: the watch for a second use of the challenge could not finish`, issuedLines(issued), control);
  };
  const failure = (msg: PkiMessage, failInfo: FailInfo, why: string, control: ShareControl): HandlerResponse => {
    refusal(why, control, msg.transactionId);
    return pkiAnswer(certRep(msg, { status: 'FAILURE', failInfo }), `refused: ${why}`);
  };
  /** The reserved refusal given back: this request was not a refused attempt. */
  const accepted = () => {
    refused -= 1;
  };

  const pkiOperation = (der: Buffer, remoteAddress: string, control: ShareControl): HandlerResponse => {
    // The bound first, before the message is read: past it, nothing is parsed or decrypted (SPEC).
    if (verdict || refused >= maxFailures) return text(403, 'this enrollment is closed\n', `not read: the enrollment is closed (${refused} refused attempts)`);
    refused += 1;
    try {
      return pkiOperationCounted(der, remoteAddress, control);
    } catch (error) {
      // A bug must not end the enrollment, nor let a request past the bound: recorded as refused, counted.
      const what = error instanceof Error ? error.name : typeof error;
      refusal(`internal error (${what})`, control);
      return text(500, 'internal error\n', `refused: internal error (${what})`);
    }
  };

  const pkiOperationCounted = (der: Buffer, remoteAddress: string, control: ShareControl): HandlerResponse => {
    let msg: PkiMessage;
    try {
      msg = parsePkiMessage(der);
    } catch (error) {
      if (!(error instanceof InvalidScepMessageError)) throw error;
      // Without a verified message there is no one to address a CertRep to (RFC 8894 §3.3.2): an HTTP error.
      refusal(`unreadable PKIOperation: ${error.message}`, control);
      return text(400, 'bad request\n', `refused: ${error.message}`);
    }
    if (msg.messageType !== MESSAGE_TYPE.PKCSReq && msg.messageType !== MESSAGE_TYPE.CertPoll) {
      return failure(msg, 'badRequest', `messageType ${msg.messageType} is not served (PKCSReq only)`, control);
    }
    const signerSpki = canonicalSpkiOfCert(msg.signerCertDer);
    if (issued && msg.transactionId === issued.summary.transactionId && signerSpki?.equals(issued.spkiDer)) {
      // The client's retrieval of the one result: the same transaction and key get the same certificate again.
      accepted();
      return pkiAnswer(certRep(msg, { status: 'SUCCESS', certificatesDer: [issued.der], cipher: issued.cipher }), 'certificate sent again');
    }
    if (msg.messageType !== MESSAGE_TYPE.PKCSReq) {
      return failure(msg, 'badRequest', issued ? 'this enrollment already issued its one certificate' : 'nothing was issued yet to poll for', control);
    }

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

    if (issued) {
      if (csr.acceptedKey.spkiDer.equals(issued.spkiDer)) {
        // The holder of the certified key again, in a new transaction: the same certificate, to the same key.
        if (!signerSpki?.equals(issued.spkiDer)) return failure(msg, 'badRequest', "the message is not signed with the CSR's key", control);
        accepted();
        return pkiAnswer(certRep(msg, { status: 'SUCCESS', certificatesDer: [issued.der], cipher: opened.cipher }), 'certificate sent again (new transaction, same key)');
      }
      // The spent challenge with another key: two parties held it (SPEC "SCEP under a hostile LAN").
      accepted();
      const at = ctx.now().toISOString();
      refusedEvent(`the spent challenge with another key, from ${remoteAddress} (transaction ${msg.transactionId}): two parties held the challenge`);
      compromised(
        `two parties enrolled ${name} with its one-time challenge (someone on the network may have read the profile)`,
        [
          ...issuedLines(issued),
          `  then         ${clock(at)}, from ${remoteAddress}: the same challenge with another key, refused`,
        ],
        control,
      );
      return pkiAnswer(certRep(msg, { status: 'FAILURE', failInfo: 'badRequest' }), 'refused: the spent challenge with another key; revoking the certificate issued');
    }

    // The reply is encrypted to the signer's key: it must be the key being certified (RFC 8894 §2.3, PKCSReq with a self-signed certificate).
    if (!signerSpki || !signerSpki.equals(csr.acceptedKey.spkiDer)) {
      return failure(msg, 'badRequest', "the message is not signed with the CSR's key", control);
    }
    const signed = signCertificate(
      ca,
      caKey,
      { name, profile: 'client', source: 'scep', subject: built.subject, spkiDer: csr.acceptedKey.spkiDer, keyType: csr.acceptedKey.kind, sans: { dns: [], ip: [], email: [] }, days },
      ctx.now(),
      ctx.randomBytes,
    );
    // The one-certificate rule again, inside the recording transaction: an `issue NAME` that ran meanwhile wins
    // (exit 1, nothing recorded); the SCEP certificates this enrollment renews may stay valid alongside it until the watch ends.
    recordCertificate(db, signed, 'scep', p.force ? 'any' : renewing.map((r) => r.serial), `client; transaction ${msg.transactionId}; to ${remoteAddress}`);
    accepted();
    const summary: ScepIssued = {
      ...summarize(signed),
      pem: toPem('CERTIFICATE', signed.der),
      transactionId: msg.transactionId,
      remoteAddress,
      ...(built.dropped !== undefined ? { dropped: showText(built.dropped) } : {}),
    };
    // The device downloads its profile and enrolls from one address. A certificate that went elsewhere may
    // have gone to whoever read the profile on the wire, first: the device then still comes, and the watch
    // runs to the end of --ttl to see it.
    const extended =
      profileAddress !== undefined && profileAddress !== remoteAddress
        ? `the certificate went to ${remoteAddress}, but ${profileAddress} downloaded the profile`
        : undefined;
    issued = { summary, issuedAt: signed.record.issuedAt, der: signed.der, spkiDer: csr.acceptedKey.spkiDer, cipher: opened.cipher, ...(extended ? { extended } : {}) };
    const watchMs = p.watchMs ?? WATCH_WINDOW_MS;
    if (!extended) {
      setTimeout(() => {
        if (!verdict) control.finish();
      }, watchMs).unref();
    }
    p.onIssued?.(summary, { until: extended ? session.expiresAt : new Date(ctx.now().getTime() + watchMs), ...(extended ? { extended } : {}) });
    return pkiAnswer(certRep(msg, { status: 'SUCCESS', certificatesDer: [signed.der], cipher: opened.cipher }), `issued ${summary.serial} to ${summary.subject}`);
  };

  const session: ShareSession = await startShare({
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
    ttlMs,
    randomBytes: ctx.randomBytes,
    now: ctx.now,
    onRequest: (entry) => {
      // The one completed download of the profile: the device's address, as a rule.
      if (entry.completed === true && profileAddress === undefined) profileAddress = entry.remoteAddress;
      p.onRequest?.(entry);
    },
    handler: {
      path: '/scep',
      maxBodyBytes: MAX_PKI_MESSAGE_BYTES,
      handle: ({ method, query, body, remoteAddress }, control) => {
        const operation = query.get('operation') ?? '';
        switch (operation) {
          case 'GetCACaps':
            return text(200, CA_CAPS.join('\n') + '\n', operation);
          case 'GetCACert':
            // One CA, no RA: the certificate itself (RFC 8894 §4.2.1.1). A certs-only PKIMessage of it
            // (application/x-x509-ca-ra-cert) would not help certmonger, which wants the issuer of an
            // RA certificate as its trust anchor: it needs getcert add-scep-ca -N ca.pem (docs).
            return { status: 200, contentType: 'application/x-x509-ca-cert', body: ca.der, note: operation };
          case 'PKIOperation': {
            const der = method === 'POST' ? body : pkiMessageFromGet(query.get('message') ?? '');
            if (!der || der.length === 0) return text(400, 'bad request\n', 'PKIOperation without a message');
            if (der.length > MAX_PKI_MESSAGE_BYTES) return text(413, 'request too large\n', 'PKIOperation too large');
            return pkiOperation(der, remoteAddress, control);
          }
          default:
            return text(400, 'unknown operation\n', `unknown operation ${showText(operation, 32)}`);
        }
      },
    },
  });

  /** After the watch: a renewal supersedes the certificates it replaces, in this run. */
  const finish = async (): Promise<ScepResult> => {
    const certificate = issued!;
    const result: ScepResult = { ...certificate.summary, replaced: [], ...(certificate.extended ? { extended: certificate.extended } : {}) };
    if (renewing.length === 0) return result;
    let crl;
    try {
      crl = await revokeCertificates(ctx, renewing, 'superseded', 'scep', { skipRevoked: true });
    } catch (error) {
      if (error instanceof PocketcaError && !error.hint) {
        error.hint = `${name} has its new certificate ${certificate.summary.serial}; revoke the old one: ${renewing.map((r) => `pocketca revoke ${r.serial} --reason superseded`).join('; ')}`;
      }
      throw error;
    }
    return {
      ...result,
      replaced: renewing.map((r) => ({ serial: r.serial, status: 'revoked' as const, reason: findBySerial(db, r.serial)?.reason ?? null })),
      ...(crl.crlNumber !== undefined ? { crlNumber: crl.crlNumber, crlPath: ctx.home.crlPath } : {}),
    };
  };
  const ended = (error?: Error) => {
    if (verdict) return verdict.then((e) => settle.reject(e));
    if (issued) return finish().then(settle.resolve, settle.reject);
    if (!error) return settle.reject(new ScepEnrollmentEndedError('the enrollment closed with no certificate issued'));
    if (error instanceof ShareExpiredError) {
      return settle.reject(new ScepEnrollmentEndedError(`the enrollment expired (--ttl ${formatDuration(session.ttlMs)}) with no certificate issued`, `run pocketca scep ${name} again (a longer one with --ttl 30m)`));
    }
    settle.reject(error instanceof PocketcaError ? error : new ScepEnrollmentEndedError(error.message));
  };
  session.done.then(
    () => ended(),
    (error: Error) => ended(error),
  );
  return {
    session,
    url: session.url,
    scepUrl: `${session.url}/scep`,
    profilePath,
    renewing: renewing.map((r: CertificateRow) => ({ serial: r.serial, notAfter: r.notAfter })),
    done,
  };
}

/** The signer certificate's key, re-encoded as `sign` would (undefined when it is not a key pocketca accepts). */
function canonicalSpkiOfCert(certDer: Buffer): Buffer | undefined {
  try {
    return canonicalPublicKey(parseCertificate(certDer).spkiDer).spkiDer;
  } catch {
    return undefined;
  }
}
