/**
 * How long the published CRL keeps the proxies working. nginx, Apache and
 * Mosquitto refuse every client certificate once crl.pem's nextUpdate has
 * passed, so this is the number `doctor` puts first and `proxy` warns about.
 */
import { verifyWithKey } from '../ca/key-types';
import { PocketcaError } from '../errors';
import { CrlFormatError, crlDerFrom, readCrl, type ReadCrl } from '../formats/crl-reader';
import type { ParsedCertificate } from '../formats/x509';
import { readFileBounded } from '../host/files';
import { MAX_HOME_FILE_BYTES } from '../host/limits';

/** Below this many days left, `doctor` fails and `proxy` warns (SPEC `doctor`). */
export const CRL_WARNING_DAYS = 7;
const DAY_MS = 86_400_000;

export interface CrlStatus {
  thisUpdate: string;
  nextUpdate: string | null;
  /** Whole days until nextUpdate, rounded down; negative once it has passed. */
  daysLeft: number | null;
  expired: boolean;
  /** The signature verifies with the CA certificate's key. */
  signedByCa: boolean;
  entries: number;
  /** Its cRLNumber, when it has one. */
  number?: number;
}

/** Whether `crl` carries the signature of this CA's key (a malformed signature is false, not an exception). */
export function signedByCa(crl: ReadCrl, ca: ParsedCertificate): boolean {
  try {
    return verifyWithKey(ca.publicKey, crl.tbsDer, crl.signature);
  } catch {
    return false;
  }
}

/** The state of a CRL file, or a string saying why it cannot be read. */
export function crlStatus(path: string, ca: ParsedCertificate, now: Date): CrlStatus | string {
  let bytes: Buffer;
  try {
    bytes = readFileBounded(path, { max: MAX_HOME_FILE_BYTES, what: 'the CRL', expected: 'that is not a CRL' });
  } catch (error) {
    if (error instanceof PocketcaError) return error.message;
    throw error;
  }
  const der = crlDerFrom(bytes);
  if (!der) return `${path} holds no CRL (PEM or DER)`;
  try {
    const crl = readCrl(der);
    const msLeft = crl.nextUpdate ? crl.nextUpdate.getTime() - now.getTime() : null;
    return {
      thisUpdate: crl.thisUpdate.toISOString(),
      nextUpdate: crl.nextUpdate?.toISOString() ?? null,
      daysLeft: msLeft === null ? null : Math.floor(msLeft / DAY_MS),
      expired: msLeft !== null && msLeft <= 0,
      signedByCa: signedByCa(crl, ca),
      entries: crl.entries,
      ...(crl.number === undefined ? {} : { number: crl.number }),
    };
  } catch (error) {
    if (error instanceof CrlFormatError) return `${path}: ${error.message}`;
    throw error;
  }
}
