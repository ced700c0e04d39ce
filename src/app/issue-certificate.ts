/**
 * The step `issue`, `sign` and `renew` share: sign an end-entity certificate
 * with the CA key and record it. Recording happens in its own transaction
 * before any file of the certificate is written (SPEC "Guarantees").
 */
import type { KeyObject } from 'node:crypto';
import { buildEndEntityTbs, buildIntermediateTbs, validityFor, type ProfileName } from '../ca/certificate-profiles';
import { generateSerial, serialToHex } from '../ca/serial';
import { signTbs } from '../ca/signing';
import type { Subject } from '../ca/subject';
import { fingerprintOf, type ParsedCertificate, type SubjectAltNames } from '../formats/x509';
import { insertCertificate, type CertificateRecord, type Source } from '../store/certificates';
import type { Db } from '../store/database';
import { recordEvent } from '../store/events';
import { checkpoint } from '../host/files';
import { refuseSecondCertificate } from './find-certificate';

export interface SignRequest {
  name: string;
  profile: ProfileName;
  source: Source;
  /** Built by src/ca/subject.ts, the one subject builder. */
  subject: Subject;
  spkiDer: Buffer;
  keyType: string;
  sans: SubjectAltNames;
  days: number;
  /** Profile `intermediate` only: its pathLenConstraint (default 0). */
  pathLen?: number;
}

export interface SignedCertificate {
  der: Buffer;
  record: CertificateRecord;
}

export function signCertificate(
  ca: ParsedCertificate,
  caKey: KeyObject,
  request: SignRequest,
  now: Date,
  randomBytes: (n: number) => Buffer,
): SignedCertificate {
  const serial = generateSerial(randomBytes);
  const tbs =
    request.profile === 'intermediate'
      ? buildIntermediateTbs(ca, { ...request, pathLen: request.pathLen ?? 0, serial, now })
      : buildEndEntityTbs(ca, { ...request, serial, now });
  const der = signTbs(caKey, tbs);
  const { notBefore, notAfter } = validityFor(now, request.days);
  return {
    der,
    record: {
      serial: serialToHex(serial),
      name: request.name,
      profile: request.profile,
      source: request.source,
      subject: request.subject.text,
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      fingerprintSha256: fingerprintOf(der),
      issuedAt: now.toISOString(),
    },
  };
}

/**
 * Which valid certificates the name may already have when a new one is
 * recorded (SPEC: one valid certificate per NAME): `[]` none (`issue`,
 * `scep`), the serials a renewal replaces (`renew`), or 'any' (`--force`,
 * `sign`, the internal profile signer). Every caller says which: a command
 * cannot leave the rule out by forgetting it.
 */
export type ValidAlongside = readonly string[] | 'any';

/**
 * Record a signed certificate and its audit event in one IMMEDIATE
 * transaction. Unless `alongside` is 'any', the name's valid certificates
 * are checked inside that transaction (refuseSecondCertificate): of two runs
 * racing for one name, the second finds the first's row and records nothing
 * (ValidCertificateExistsError). `detail` is the event's detail; default the
 * profile (`scep` adds the device's transaction ID).
 */
export function recordCertificate(db: Db, signed: SignedCertificate, command: string, alongside: ValidAlongside, detail: string = signed.record.profile): void {
  const { record } = signed;
  db.transaction(() => {
    if (alongside !== 'any') refuseSecondCertificate(db, record.name, record.issuedAt, alongside);
    insertCertificate(db, record, signed.der);
    recordEvent(db, { at: record.issuedAt, command, outcome: 'ok', serial: record.serial, name: record.name, detail });
    checkpoint(`${command}:recording`);
  }).immediate();
  checkpoint(`${command}:recorded`);
}

/** The fields every issuing command reports (SPEC `issue --json`, `sign --json`). */
export interface IssuedSummary {
  serial: string;
  name: string;
  profile: string;
  subject: string;
  notAfter: string;
  fingerprintSha256: string;
}

export function summarize(signed: SignedCertificate): IssuedSummary {
  const { serial, name, profile, subject, notAfter, fingerprintSha256 } = signed.record;
  return { serial, name, profile, subject, notAfter, fingerprintSha256 };
}
