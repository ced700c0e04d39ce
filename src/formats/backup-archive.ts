/**
 * The `pocketca backup` file: one self-describing file, readable without
 * pocketca (`head -c 4096 FILE` shows the manifest).
 *
 *   "pocketca-backup\n"            16 bytes, the magic
 *   manifest length                4 bytes, unsigned big-endian
 *   manifest                       UTF-8 JSON (BackupManifest)
 *   members                        their bytes, concatenated in manifest order
 *
 * Every member carries its size and SHA-256 in the manifest; the file's length
 * must be exactly header + manifest + members, so a truncated or extended file
 * is refused before anything is parsed. Member names are checked against a
 * plain-file pattern here and against the exact list by the caller: a name
 * from a backup never becomes a path unchecked.
 */
import { createHash } from 'node:crypto';
import { InvalidBackupError } from '../errors';

export const BACKUP_MAGIC = Buffer.from('pocketca-backup\n', 'latin1');
export const BACKUP_FORMAT_VERSION = 1;
const MAX_MANIFEST_BYTES = 1024 * 1024;
const MEMBER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

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
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export function encodeBackup(manifest: Omit<BackupManifest, 'format' | 'version' | 'members'>, members: BackupMember[]): Buffer {
  for (const m of members) if (!MEMBER_NAME.test(m.name)) throw new Error(`bad backup member name ${m.name}`);
  const full: BackupManifest = {
    format: 'pocketca-backup',
    version: BACKUP_FORMAT_VERSION,
    ...manifest,
    members: members.map((m) => ({ name: m.name, size: m.data.length, sha256: sha256(m.data) })),
  };
  const json = Buffer.from(JSON.stringify(full, null, 2) + '\n', 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([BACKUP_MAGIC, length, json, ...members.map((m) => m.data)]);
}

const invalid = (what: string) => new InvalidBackupError(`not a usable pocketca backup: ${what}`, 'use a file written by `pocketca backup`; if it is one, it was damaged in transit or storage');

function checkManifest(value: unknown): BackupManifest {
  const m = value as BackupManifest;
  if (typeof m !== 'object' || m === null || m.format !== 'pocketca-backup') throw invalid('the manifest is not a pocketca-backup manifest');
  if (!Number.isInteger(m.version) || m.version < 1) throw invalid('the manifest has no format version');
  if (m.version > BACKUP_FORMAT_VERSION) {
    throw new InvalidBackupError(`the backup has format version ${m.version}; this pocketca reads up to ${BACKUP_FORMAT_VERSION}`, 'upgrade pocketca');
  }
  if (typeof m.createdAt !== 'string' || typeof m.ca?.fingerprintSha256 !== 'string' || typeof m.ca?.subject !== 'string') throw invalid('the manifest lacks its CA or time');
  if (!Number.isInteger(m.schemaVersion) || !Array.isArray(m.members)) throw invalid('the manifest lacks its members');
  const seen = new Set<string>();
  for (const member of m.members) {
    if (typeof member?.name !== 'string' || !MEMBER_NAME.test(member.name) || seen.has(member.name)) {
      throw invalid(`member name ${JSON.stringify(String(member?.name)).slice(0, 80)} is not allowed`);
    }
    seen.add(member.name);
    if (!Number.isSafeInteger(member.size) || member.size < 0 || typeof member.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(member.sha256)) {
      throw invalid(`member ${member.name} has no valid size and SHA-256`);
    }
  }
  return m;
}

/** Parse and verify a backup: the layout, the manifest, and every member's size and SHA-256. */
export function decodeBackup(file: Buffer): { manifest: BackupManifest; members: Map<string, Buffer> } {
  if (file.length < BACKUP_MAGIC.length + 4 || !file.subarray(0, BACKUP_MAGIC.length).equals(BACKUP_MAGIC)) {
    throw invalid('it does not start with "pocketca-backup"');
  }
  const length = file.readUInt32BE(BACKUP_MAGIC.length);
  const start = BACKUP_MAGIC.length + 4;
  if (length > MAX_MANIFEST_BYTES || start + length > file.length) throw invalid('the manifest is truncated or too large');
  let parsed: unknown;
  try {
    parsed = JSON.parse(file.subarray(start, start + length).toString('utf8'));
  } catch {
    throw invalid('the manifest is not JSON');
  }
  const manifest = checkManifest(parsed);
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
  return { manifest, members };
}
