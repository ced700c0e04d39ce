/**
 * The `pocketca backup` file: one self-describing file, readable without
 * pocketca (`head -c 4096 FILE` shows the manifest). The layout is a contract
 * (SPEC "Backups are authenticated"):
 *
 *   "pocketca-backup\n"            16 bytes, the magic
 *   manifest length                4 bytes, unsigned big-endian
 *   manifest                       UTF-8 JSON (BackupManifest)
 *   members                        their bytes, concatenated in manifest order
 *
 * Every member carries its size and SHA-256 in the manifest; the file's length
 * must be exactly header + manifest + members, so a truncated or extended file
 * is refused before anything is parsed. Member names must be in the caller's
 * exact list (and unique) before a byte of a member is looked at: a name from
 * a backup never becomes a path unchecked.
 *
 * The signature (format version 2; version 1, the first release, had none).
 * The CA key signs the manifest, which holds every member's SHA-256, so it
 * vouches for every byte of the file. It travels inside the manifest as its
 * last field, on a line of its own, the JSON of {"algorithm","value"} (value
 * base64):
 *
 *     ...
 *       ],
 *       "signature": {"algorithm":"sha256WithRSAEncryption","value":"..."}
 *     }
 *
 * and covers the exact bytes `"pocketca-backup\n"` + the manifest as it is
 * without that field: the manifest with `,\n  "signature": {...}` cut out (the
 * text from the comma ending the line before it to the end of the signature
 * line), which is `JSON.stringify(manifest, null, 2) + "\n"` of the manifest
 * without `signature`. The reader rebuilds those bytes by cutting, never by
 * re-serialising what it parsed, and accepts the field only there: what it
 * parses beyond the signature is then exactly what was signed. With openssl:
 *   (printf 'pocketca-backup\n'; cat unsigned.json) | openssl dgst -sha256 -verify ca.pub -signature sig.bin
 * The algorithm follows the CA key (sha256WithRSAEncryption for RSA; ECDSA
 * with SHA-256 or SHA-384 for P-256 or P-384; Ed25519); a reader takes it
 * from the CA certificate and refuses a manifest that names another.
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { InvalidBackupError } from '../errors';

export const BACKUP_MAGIC = Buffer.from('pocketca-backup\n', 'latin1');
/** 2: the manifest is signed. 1: the first release's, unsigned. */
export const BACKUP_FORMAT_VERSION = 2;
export const UNSIGNED_FORMAT_VERSION = 1;
const MAX_MANIFEST_BYTES = 1024 * 1024;
const MEMBER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** What comes before the signature's JSON, and after it, in the manifest's bytes (see the top of the file). */
const SIGNATURE_LEAD = ',\n  "signature": ';
const MANIFEST_END = '\n}\n';

export interface BackupMember {
  /** A file name in the CA home, like `pocketca.db`. */
  name: string;
  data: Buffer;
}

export interface BackupManifest {
  format: 'pocketca-backup';
  /** BACKUP_FORMAT_VERSION of the writer; a newer one is refused. */
  version: number;
  /** ISO-8601 UTC time of the snapshot. */
  createdAt: string;
  /** The version of pocketca that wrote it. */
  pocketcaVersion: string;
  /** The CA it holds: subject and SHA-256 fingerprint of ca.pem. */
  ca: { subject: string; fingerprintSha256: string };
  /** PRAGMA user_version of the database snapshot. */
  schemaVersion: number;
  members: { name: string; size: number; sha256: string }[];
  /** The CA key's signature over the rest (version 2 on); absent in version 1. */
  signature?: { algorithm: string; value: string };
}

/** The signature of a decoded backup: what it covers, and the claimed algorithm and value. */
export interface SignedManifest {
  /** The exact bytes signed: the magic, then the manifest without its signature field. */
  data: Buffer;
  algorithm: string;
  value: Buffer;
}

export interface DecodedBackup {
  manifest: BackupManifest;
  members: Map<string, Buffer>;
  /** Undefined for a version 1 (unsigned) backup. */
  signed: SignedManifest | undefined;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** The signature algorithm for a CA key (private or public): its name in the manifest, and the digest for node:crypto. */
export function manifestSignatureAlgorithm(key: KeyObject): { name: string; digest: string | null } {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return { name: 'sha256WithRSAEncryption', digest: 'sha256' };
  if (type === 'ed25519') return { name: 'Ed25519', digest: null };
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return { name: 'ecdsa-with-SHA256', digest: 'sha256' };
    if (curve === 'secp384r1') return { name: 'ecdsa-with-SHA384', digest: 'sha384' };
  }
  throw new RangeError(`no backup signature algorithm for a ${type ?? 'unknown'} key`);
}

/** Write a signed backup; `key` is the CA's private key. */
export function encodeBackup(manifest: Omit<BackupManifest, 'format' | 'version' | 'members' | 'signature'>, members: BackupMember[], key: KeyObject): Buffer {
  for (const m of members) if (!MEMBER_NAME.test(m.name)) throw new Error(`bad backup member name ${m.name}`);
  const unsigned: BackupManifest = {
    format: 'pocketca-backup',
    version: BACKUP_FORMAT_VERSION,
    ...manifest,
    members: members.map((m) => ({ name: m.name, size: m.data.length, sha256: sha256(m.data) })),
  };
  const text = JSON.stringify(unsigned, null, 2) + '\n';
  const algorithm = manifestSignatureAlgorithm(key);
  const value = sign(algorithm.digest, Buffer.concat([BACKUP_MAGIC, Buffer.from(text, 'utf8')]), key).toString('base64');
  const signed = text.slice(0, -MANIFEST_END.length) + SIGNATURE_LEAD + JSON.stringify({ algorithm: algorithm.name, value }) + MANIFEST_END;
  const json = Buffer.from(signed, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([BACKUP_MAGIC, length, json, ...members.map((m) => m.data)]);
}

/** True when the signature verifies with `publicKey` (the CA certificate's) and names that key's algorithm. */
export function verifyManifestSignature(signed: SignedManifest, publicKey: KeyObject): boolean {
  let algorithm: { name: string; digest: string | null };
  try {
    algorithm = manifestSignatureAlgorithm(publicKey);
  } catch {
    return false;
  }
  if (signed.algorithm !== algorithm.name) return false;
  try {
    return verify(algorithm.digest, signed.data, publicKey, signed.value);
  } catch {
    return false;
  }
}

const invalid = (what: string) => new InvalidBackupError(`not a usable pocketca backup: ${what}`, 'use a file written by `pocketca backup`; if it is one, it was damaged in transit or storage');

function checkManifest(value: unknown, allowed: ReadonlySet<string>, fileLength: number): BackupManifest {
  const m = value as BackupManifest;
  if (typeof m !== 'object' || m === null || Array.isArray(m) || m.format !== 'pocketca-backup') throw invalid('the manifest is not a pocketca-backup manifest');
  if (!Number.isInteger(m.version) || m.version < 1) throw invalid('the manifest has no format version');
  if (m.version > BACKUP_FORMAT_VERSION) {
    throw new InvalidBackupError(`the backup has format version ${m.version}; this pocketca reads up to ${BACKUP_FORMAT_VERSION}`, 'upgrade pocketca');
  }
  if (typeof m.createdAt !== 'string' || typeof m.ca?.fingerprintSha256 !== 'string' || typeof m.ca?.subject !== 'string') throw invalid('the manifest lacks its CA or time');
  if (!Number.isInteger(m.schemaVersion) || !Array.isArray(m.members)) throw invalid('the manifest lacks its members');
  // At most allowed.size rounds: a name past them is either unknown or a repeat.
  const seen = new Set<string>();
  for (const member of m.members) {
    const name = typeof member?.name === 'string' ? member.name : undefined;
    if (name === undefined || !MEMBER_NAME.test(name)) throw invalid(`member name ${JSON.stringify(String(member?.name)).slice(0, 80)} is not allowed`);
    if (!allowed.has(name)) throw invalid(`unexpected member ${name}`);
    if (seen.has(name)) throw invalid(`member ${name} is listed twice`);
    seen.add(name);
    if (!Number.isSafeInteger(member.size) || member.size < 0 || typeof member.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(member.sha256)) {
      throw invalid(`member ${name} has no valid size and SHA-256`);
    }
    if (member.size > fileLength) throw invalid(`member ${name} is ${member.size} bytes, more than the whole file (${fileLength} bytes): truncated, or not a backup`);
  }
  return m;
}

/**
 * The signed bytes and the signature of a version 2 manifest, cut from its
 * exact text as the top of this file describes. Anything else (no signature,
 * one elsewhere in the object, or written differently) is refused.
 */
function signedPart(text: string, manifest: BackupManifest): SignedManifest {
  const s = manifest.signature;
  if (typeof s !== 'object' || s === null || typeof s.algorithm !== 'string' || typeof s.value !== 'string' || !BASE64.test(s.value) || Object.keys(s).length !== 2) {
    throw invalid('its manifest carries no signature');
  }
  const tail = SIGNATURE_LEAD + JSON.stringify({ algorithm: s.algorithm, value: s.value }) + MANIFEST_END;
  if (!text.endsWith(tail)) throw invalid('its signature is not the last field of its manifest, written as `pocketca backup` writes it');
  const unsigned = text.slice(0, -tail.length) + MANIFEST_END;
  return { data: Buffer.concat([BACKUP_MAGIC, Buffer.from(unsigned, 'utf8')]), algorithm: s.algorithm, value: Buffer.from(s.value, 'base64') };
}

/**
 * Parse a backup and check its layout, its manifest and every member's size
 * and SHA-256. `allowed` is the exact set of member names a backup may hold.
 * The signature is returned, not checked: the caller checks it with the CA
 * certificate it finds among the members (verifyManifestSignature).
 */
export function decodeBackup(file: Buffer, allowed: readonly string[]): DecodedBackup {
  const start = BACKUP_MAGIC.length + 4;
  if (file.length < start && BACKUP_MAGIC.subarray(0, file.length).equals(file.subarray(0, BACKUP_MAGIC.length))) {
    throw invalid(`the file is truncated (${file.length} bytes, shorter than the header)`);
  }
  if (file.length < start || !file.subarray(0, BACKUP_MAGIC.length).equals(BACKUP_MAGIC)) {
    throw invalid('it does not start with "pocketca-backup"');
  }
  const length = file.readUInt32BE(BACKUP_MAGIC.length);
  if (length > MAX_MANIFEST_BYTES) throw invalid(`its manifest length (${length} bytes) is over ${MAX_MANIFEST_BYTES}`);
  if (start + length > file.length) throw invalid(`the file is truncated (${file.length} bytes; its manifest alone ends at ${start + length})`);
  let text: string;
  let parsed: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(start, start + length));
    parsed = JSON.parse(text);
  } catch {
    throw invalid('the manifest is not UTF-8 JSON');
  }
  const manifest = checkManifest(parsed, new Set(allowed), file.length);
  const signed = manifest.version === UNSIGNED_FORMAT_VERSION ? undefined : signedPart(text, manifest);
  const expected = start + length + manifest.members.reduce((sum, m) => sum + m.size, 0);
  if (expected !== file.length) {
    throw invalid(`the file is ${file.length} bytes but its manifest describes ${expected}${file.length < expected ? ' (truncated?)' : ''}`);
  }
  const members = new Map<string, Buffer>();
  let offset = start + length;
  for (const m of manifest.members) {
    const data = file.subarray(offset, offset + m.size);
    offset += m.size;
    if (sha256(data) !== m.sha256) throw invalid(`member ${m.name} does not match its SHA-256 checksum`);
    members.set(m.name, data);
  }
  return { manifest, members, signed };
}
