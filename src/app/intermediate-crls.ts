/**
 * The CRLs of the intermediates (issue 12): an online CA publishes its own
 * CRL, and nginx and Apache, once CRL checking is on, want a CRL for every CA
 * in a client's chain (OpenSSL's X509_V_FLAG_CRL_CHECK_ALL): without the
 * intermediate's, every leaf of it is refused ("unable to get certificate
 * CRL"). `proxy --crl-file` appends them to the deployed crl.pem after the
 * root's; `doctor --deployed-crl` checks each of them.
 */
import { verify, type KeyObject } from 'node:crypto';
import { UsageError } from '../errors';
import { CrlFormatError, crlDerFrom, readCrl, type ReadCrl } from '../formats/crl-reader';
import { fromPemAll, looksLikePem, toPem } from '../formats/pem';
import { parseCertificate } from '../formats/x509';
import { retiredIntermediates, validIntermediates } from '../store/certificates';
import type { Db } from '../store/database';

export interface Intermediate {
  serial: string;
  name: string;
  publicKey: KeyObject;
}

export interface IntermediateCrl {
  /** Which intermediate signed it. */
  intermediate: Intermediate;
  crl: ReadCrl;
  pem: string;
}

/** A --crl-file of an intermediate that is no longer valid: not deployed (see readIntermediateCrl). */
export interface LeftOutCrl {
  path: string;
  intermediate: { serial: string; name: string };
  /** Why it is left out: the intermediate was revoked (at `at`), or expired (at `at`). */
  why: 'revoked' | 'expired';
  at: string;
}

/** An intermediate that is no longer valid. */
export interface RetiredIntermediate extends Intermediate {
  why: 'revoked' | 'expired';
  at: string;
}

export function intermediatesOf(db: Db, now: Date): Intermediate[] {
  return validIntermediates(db, now.toISOString()).map((i) => ({ serial: i.serial, name: i.name, publicKey: parseCertificate(i.der).publicKey }));
}

export function retiredIntermediatesOf(db: Db, now: Date): RetiredIntermediate[] {
  return retiredIntermediates(db, now.toISOString()).map((i) => ({
    serial: i.serial,
    name: i.name,
    publicKey: parseCertificate(i.der).publicKey,
    why: i.revokedAt ? ('revoked' as const) : ('expired' as const),
    at: i.revokedAt ?? i.notAfter,
  }));
}

/** Every CRL in a file: PEM blocks labelled X509 CRL, or one DER CRL. */
export function crlsInFile(bytes: Buffer): Buffer[] {
  if (looksLikePem(bytes)) return fromPemAll(bytes.toString('latin1')).filter((b) => b.label === 'X509 CRL').map((b) => b.der);
  const der = crlDerFrom(bytes);
  return der ? [der] : [];
}

/** The intermediate whose key verifies this CRL's signature, if any. */
export function signerOf(crl: ReadCrl, intermediates: readonly Intermediate[]): Intermediate | undefined {
  // The engine picks the hash (SHA-256 mostly; ECDSA P-384 keys may sign with SHA-384), Ed25519 none.
  const verifies = (key: KeyObject, digest: string | null) => {
    try {
      return verify(digest, crl.tbsDer, { key, dsaEncoding: 'der' }, crl.signature);
    } catch {
      return false;
    }
  };
  return intermediates.find((i) => (i.publicKey.asymmetricKeyType === 'ed25519' ? verifies(i.publicKey, null) : ['sha256', 'sha384', 'sha512'].some((d) => verifies(i.publicKey, d))));
}

/**
 * A `--crl-file`: one CRL (PEM or DER), signed by a valid intermediate of this
 * root. One signed by an intermediate that has been revoked or has expired
 * since is left out (SPEC "Revoking an intermediate"): the root's CRL lists
 * a revoked one, so nginx and Apache refuse every chain through it (its
 * leaves' CRL no longer matters), and an expired one ends its chains itself.
 * The same `proxy ... --crl-file` command therefore keeps working after
 * `revoke`, and rewrites the deployed crl.pem without that CRL.
 */
export function readIntermediateCrl(bytes: Buffer, path: string, intermediates: readonly Intermediate[], now: Date, retired: readonly RetiredIntermediate[] = []): IntermediateCrl | LeftOutCrl {
  const ders = crlsInFile(bytes);
  if (ders.length !== 1) throw new UsageError(`--crl-file ${path} holds ${ders.length === 0 ? 'no CRL (PEM or DER)' : `${ders.length} CRLs; give each with its own --crl-file`}`);
  let crl: ReadCrl;
  try {
    crl = readCrl(ders[0]!);
  } catch (error) {
    if (error instanceof CrlFormatError) throw new UsageError(`--crl-file ${path}: ${error.message}`);
    throw error;
  }
  const intermediate = signerOf(crl, intermediates);
  if (!intermediate) {
    const gone = signerOf(crl, retired) as RetiredIntermediate | undefined;
    if (gone) return { path, intermediate: { serial: gone.serial, name: gone.name }, why: gone.why, at: gone.at };
  }
  if (intermediates.length === 0) {
    throw new UsageError(`--crl-file ${path}: this CA has no valid intermediate`, 'sign the online CA first: pocketca sign CSR --profile intermediate');
  }
  if (!intermediate) {
    throw new UsageError(
      `--crl-file ${path} is not signed by a valid intermediate of this CA (${intermediates.map((i) => i.name).join(', ')})`,
      "give the online CA's own CRL, e.g. from `openssl ca -gencrl` or the engine's CRL endpoint",
    );
  }
  if (crl.nextUpdate && crl.nextUpdate <= now) {
    throw new UsageError(`--crl-file ${path} (of ${intermediate.name}) expired ${crl.nextUpdate.toISOString()}: the proxy would refuse every leaf of it`, 'have the online CA sign a fresh CRL');
  }
  return { intermediate, crl, pem: toPem('X509 CRL', ders[0]!) };
}

