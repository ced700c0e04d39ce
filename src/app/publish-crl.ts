/**
 * Signing and writing the CRL. Called inside an IMMEDIATE transaction by
 * `init`, `revoke` and `crl`: the number is taken, the CRL is recorded and
 * crl.pem is renamed into place while this process holds the write lock, so
 * two processes can never publish CRLs out of order (SPEC "Guarantees").
 */
import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { crlValidityFor } from '../ca/crl-validity';
import { signatureAlgorithmOf, verifyWithKey } from '../ca/key-types';
import { signTbs } from '../ca/signing';
import { encodeTbsCrl, sha256Hex, type CrlEntry } from '../formats/crl';
import { CrlFormatError, readCrl } from '../formats/crl-reader';
import { fromPem, toPemBuffer } from '../formats/pem';
import type { ParsedCertificate } from '../formats/x509';
import { insertCrl, nextCrlNumber, type CrlRecord } from '../store/crls';
import type { Db } from '../store/database';
import { eachRevocation } from '../store/revocations';
import { getSetting } from '../store/settings';
import { checkpoint, PUBLIC, writeFileAtomic } from './files';

/**
 * Default CRL validity for an offline CA: 365 days. The proxy reads crl.pem
 * from its own disk, so nextUpdate protects against no replay here; it is only
 * a cliff after which nginx and Apache refuse every client. Revocations reach
 * the proxy when the user copies the new CRL after `revoke`, not when the old
 * one expires, so a long validity costs no security and avoids a yearly outage
 * being a monthly one. `doctor` counts the days down.
 */
export const DEFAULT_CRL_DAYS = 365;

export function crlDaysOf(db: Db): number {
  return Number(getSetting(db, 'crl_days') ?? DEFAULT_CRL_DAYS);
}

export interface PublishedCrl extends CrlRecord {
  der: Buffer;
}

/**
 * The number crl.pem carries, if it is a CRL of this CA. It can be one ahead
 * of the database: the file is renamed into place just before the transaction
 * that records it commits, and a process killed in between leaves it so.
 */
function numberOnDisk(crlPath: string, ca: ParsedCertificate): number {
  if (!existsSync(crlPath)) return 0;
  const der = fromPem(readFileSync(crlPath, 'latin1'), ['X509 CRL']);
  try {
    const crl = der && readCrl(der);
    return crl && crl.number && verifyWithKey(ca.publicKey, crl.tbsDer, crl.signature) ? crl.number : 0;
  } catch (error) {
    // Not a CRL at all: it holds no number to respect.
    if (error instanceof CrlFormatError) return 0;
    throw error;
  }
}

export function signAndWriteCrl(db: Db, crlPath: string, ca: ParsedCertificate, key: KeyObject, now: Date, days: number): PublishedCrl {
  // RFC 5280 §5.2.3: CRL numbers increase; never reissue one a proxy may already have.
  const number = Math.max(nextCrlNumber(db), numberOnDisk(crlPath, ca) + 1);
  // Streamed from the store into the encoder, the times as the ISO text they are stored as (issue 6).
  let count = 0;
  const entries = function* (): Generator<CrlEntry> {
    for (const row of eachRevocation(db)) {
      count++;
      yield row as CrlEntry;
    }
  };
  const { thisUpdate, nextUpdate } = crlValidityFor(now, days, new Date(ca.x509.validTo));
  const der = signTbs(
    key,
    encodeTbsCrl({
      issuerDer: ca.subjectDer,
      authorityKeyId: ca.keyId,
      crlNumber: number,
      thisUpdate,
      nextUpdate,
      entries: entries(),
      signatureAlgorithm: signatureAlgorithmOf(key).der,
    }),
  );
  const record: CrlRecord = {
    number,
    thisUpdate: thisUpdate.toISOString(),
    nextUpdate: nextUpdate.toISOString(),
    entries: count,
    sha256: sha256Hex(der),
  };
  insertCrl(db, record);
  checkpoint('crl:recorded');
  writeFileAtomic(crlPath, toPemBuffer('X509 CRL', der), PUBLIC);
  checkpoint('crl:written');
  return { ...record, der };
}
