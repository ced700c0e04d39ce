import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createTestCa, openssl, ROOT, pocketca, pocketcaAsync, secretFile, tool, type RunResult, type TestCa } from '../helpers/cli';
import { requireTool } from '../helpers/tools';
import { runInPty, screenText } from '../helpers/pty';
import { integrityCheck, readCrl, snapshotDir, withDatabase } from '../helpers/guarantees';

/** Run against another home than the test CA's own (its helper would add its own --home last, which wins). */
function runAt(ca: TestCa, home: string, args: string[]): RunResult {
  const keyless = ['list', 'log', 'show'].includes(args[0]!) || args.includes('--passphrase-file');
  return pocketca([...args, '--home', home, ...(keyless ? [] : ['--passphrase-file', ca.passFile])], { cwd: ca.out });
}
function okAt(ca: TestCa, home: string, args: string[]): RunResult {
  const r = runAt(ca, home, args);
  assert.equal(r.code, 0, `pocketca ${args.join(' ')} --home ${home}: ${r.stderr}`);
  return r;
}
const listAll = (ca: TestCa, home = ca.home) => JSON.parse(okAt(ca, home, ['list', '--all', '--json']).stdout);
const mode = (path: string) => statSync(path).mode & 0o777;

type Manifest = { members: { name: string; size: number; sha256: string }[]; signature?: { algorithm: string; value: string }; [k: string]: unknown };
const MAGIC = Buffer.from('pocketca-backup\n', 'latin1');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The backup's layout, read by the test itself: magic, length, manifest JSON, members. */
function readBackup(path: string): { manifest: Manifest; text: string; members: Map<string, Buffer>; raw: Buffer } {
  const raw = readFileSync(path);
  assert.deepEqual(raw.subarray(0, 16), MAGIC);
  const length = raw.readUInt32BE(16);
  const text = raw.subarray(20, 20 + length).toString('utf8');
  const manifest = JSON.parse(text);
  const members = new Map<string, Buffer>();
  let offset = 20 + length;
  for (const m of manifest.members) {
    members.set(m.name, raw.subarray(offset, offset + m.size));
    offset += m.size;
  }
  assert.equal(offset, raw.length);
  return { manifest, text, members, raw };
}

/**
 * The bytes a backup's signature covers, made as docs/backups.md says: the magic,
 * then the manifest's text with its last field `,\n  "signature": {...}` cut out.
 */
function signedBytes(text: string): Buffer {
  const cut = text.lastIndexOf(',\n  "signature": ');
  assert.ok(cut > 0 && text.endsWith('}\n}\n'), 'the signature is the manifest\'s last field');
  return Buffer.concat([MAGIC, Buffer.from(text.slice(0, cut) + '\n}\n', 'utf8')]);
}

/** An RSA signature (PKCS#1 v1.5, SHA-256) by openssl with an encrypted key file. */
function opensslSign(dir: string, data: Buffer, key: { keyFile: string; passFile: string }): string {
  const input = join(dir, `to-sign-${process.hrtime.bigint()}`);
  writeFileSync(input, data);
  const r = openssl(['dgst', '-sha256', '-sign', key.keyFile, '-passin', `file:${key.passFile}`, '-out', `${input}.sig`, input]);
  assert.equal(r.code, 0, r.stderr);
  return readFileSync(`${input}.sig`).toString('base64');
}

/**
 * How writeBackup signs: with a key (openssl, as above), `stale` keeps the
 * manifest's old signature value, `unsigned` writes a first-release (version 1) manifest.
 */
type Signing = { keyFile: string; passFile: string } | 'stale' | 'unsigned';

/** A backup file from a (possibly altered) manifest and members; checksums recomputed unless told otherwise. */
function writeBackup(path: string, manifest: Manifest, members: [string, Buffer][], signing: Signing, fixChecksums = true): void {
  const { signature, ...rest } = manifest;
  const list = members.map(([name, data], i) => ({ name, size: data.length, sha256: fixChecksums ? sha256(data) : manifest.members[i]!.sha256 }));
  const unsigned = JSON.stringify({ ...rest, ...(signing === 'unsigned' ? { version: 1 } : {}), members: list }, null, 2) + '\n';
  let text = unsigned;
  // (`stale` on a manifest without a signature, as the first release wrote, leaves it without one.)
  if (signing !== 'unsigned' && !(signing === 'stale' && !signature)) {
    const value = signing === 'stale' ? signature!.value : opensslSign(dirname(path), Buffer.concat([MAGIC, Buffer.from(unsigned)]), signing);
    text = unsigned.slice(0, -3) + ',\n  "signature": ' + JSON.stringify({ algorithm: 'sha256WithRSAEncryption', value }) + '\n}\n';
  }
  const json = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  writeFileSync(path, Buffer.concat([MAGIC, length, json, ...members.map(([, d]) => d)]));
}

/** Signing with this test CA's own key, as whoever holds it and its passphrase could. */
const keyOf = (ca: TestCa) => ({ keyFile: join(ca.home, 'ca.key.pem'), passFile: ca.passFile });

/** The SHA-256 fingerprint of a certificate file, by openssl (`AB:CD:...`). */
const opensslFingerprint = (pem: string): string => openssl(['x509', '-in', pem, '-noout', '-fingerprint', '-sha256']).stdout.trim().split('=')[1]!;

interface RefusedCase {
  label: string;
  file: string;
  /** The exit code expected: 1 or 2, never 70. */
  code: 1 | 2;
  words: RegExp;
  /** An existing home to restore into (with --force), which must stay byte for byte as it was; default a new directory that must not appear. */
  into?: string;
  args?: string[];
}

/**
 * Restore each case's file and check it is refused, with nothing written. Cases
 * into a new directory run four at a time; those into an existing home one by
 * one (several may share it).
 */
async function expectRefused(ca: TestCa, cases: RefusedCase[]): Promise<void> {
  const batches: RefusedCase[][] = [];
  const fresh = cases.filter((c) => !c.into);
  for (let i = 0; i < fresh.length; i += 4) batches.push(fresh.slice(i, i + 4));
  for (const c of cases) if (c.into) batches.push([c]);
  for (const [i, cases] of batches.entries()) {
    const batch = cases.map((c, k) => ({ ...c, home: c.into ?? join(ca.dir, `refused-${i}-${k}`) }));
    const before = batch.map((c) => (c.into ? snapshotDir(c.into) : undefined));
    const results = await Promise.all(
      batch.map((c) => pocketcaAsync(['restore', c.file, '--home', c.home, '--passphrase-file', ca.passFile, ...(c.into ? ['--force'] : []), ...(c.args ?? [])])),
    );
    results.forEach((r, k) => {
      const c = batch[k]!;
      assert.equal(r.code, c.code, `${c.label}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, c.words, c.label);
      assert.match(r.stderr, /^error: /m, c.label);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, c.label);
      if (c.into) assert.deepEqual(snapshotDir(c.into), before[k], `${c.label}: the home is unchanged`);
      else assert.equal(existsSync(c.home), false, `${c.label}: nothing written, not even the home directory`);
    });
  }
}

test('backup, restore into a new home, then list, revoke and crl there: same records, a CRL that verifies with the same CA', (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice', '--sign-profile', '--p12-password-file', secretFile(ca.dir, 'pw', 'backup-test')]);
  ca.ok(['issue', 'bob', '--profile', 'server', '--dns', 'bob.home.arpa']);
  ca.ok(['issue', 'carol', '--profile', 'server', '--dns', 'carol.home.arpa']);
  ca.ok(['revoke', 'bob', '--reason', 'keyCompromise']);
  const file = join(ca.dir, 'pocketca.backup');
  const made = JSON.parse(ca.ok(['backup', file, '--json']).stdout);
  assert.equal(made.path, file);
  assert.equal(mode(file), 0o600, 'the backup is 0600');
  assert.equal(made.certificates, 4, 'alice, bob, carol and the profile signer');
  assert.equal(made.revocations, 1);

  // The manifest describes every member with its SHA-256; the key is in it encrypted, byte for byte.
  const { manifest, text, members } = readBackup(file);
  assert.deepEqual([...members.keys()], ['pocketca.db', 'ca.key.pem', 'ca.pem', 'crl.pem', 'bundle.pem', 'profile-signer.key.pem']);
  for (const m of manifest.members) assert.equal(sha256(members.get(m.name)!), m.sha256);
  assert.deepEqual(members.get('ca.key.pem'), readFileSync(join(ca.home, 'ca.key.pem')));
  assert.match(members.get('ca.key.pem')!.toString(), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  assert.equal(manifest.version, 2);
  const caFingerprint = opensslFingerprint(join(ca.home, 'ca.pem'));
  assert.equal((manifest.ca as { fingerprintSha256: string }).fingerprintSha256, caFingerprint);

  // The manifest's signature verifies with openssl and the CA certificate's public key, over the bytes docs/backups.md names.
  assert.equal(manifest.signature!.algorithm, 'sha256WithRSAEncryption');
  writeFileSync(join(ca.dir, 'signed.bin'), signedBytes(text));
  writeFileSync(join(ca.dir, 'manifest.sig'), Buffer.from(manifest.signature!.value, 'base64'));
  writeFileSync(join(ca.dir, 'ca.pub.pem'), openssl(['x509', '-in', join(ca.home, 'ca.pem'), '-noout', '-pubkey']).stdout);
  const verified = openssl(['dgst', '-sha256', '-verify', join(ca.dir, 'ca.pub.pem'), '-signature', join(ca.dir, 'manifest.sig'), join(ca.dir, 'signed.bin')]);
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, /Verified OK/);

  const restored = join(ca.dir, 'restored');
  const restoreRun = okAt(ca, restored, ['restore', file, '--json']);
  const r = JSON.parse(restoreRun.stdout);
  // Before it writes, restore names the CA it found, with the fingerprint openssl computes for the CA certificate.
  assert.match(restoreRun.stderr, /^backup signed by the CA "CN=pocketca Root CA"\n {2}SHA-256 ([0-9A-F:]{95})\n/m);
  assert.equal(/SHA-256 ([0-9A-F:]{95})/.exec(restoreRun.stderr)![1], caFingerprint);
  assert.equal(r.caFingerprintSha256, caFingerprint);
  assert.equal(r.signed, true);
  assert.equal(r.home, restored);
  assert.equal(r.certificates, 4);
  assert.equal(mode(restored), 0o700);
  assert.equal(mode(join(restored, 'pocketca.db')), 0o600);
  assert.equal(mode(join(restored, 'ca.key.pem')), 0o600);
  assert.equal(mode(join(restored, 'profile-signer.key.pem')), 0o600);
  assert.equal(mode(join(restored, 'ca.pem')), 0o644);
  assert.equal(mode(join(restored, 'crl.pem')), 0o644);
  assert.equal(integrityCheck(restored), 'ok');
  assert.deepEqual(readFileSync(join(restored, 'ca.key.pem')), readFileSync(join(ca.home, 'ca.key.pem')));
  assert.deepEqual(listAll(ca, restored), listAll(ca), 'the same records');

  // Work goes on in the restored home with the same CA.
  okAt(ca, restored, ['revoke', 'carol']);
  okAt(ca, restored, ['crl']);
  okAt(ca, restored, ['issue', 'dave', '--profile', 'server', '--dns', 'dave.home.arpa']);
  const crl = openssl(['crl', '-in', join(restored, 'crl.pem'), '-CAfile', join(ca.home, 'ca.pem'), '-noout', '-text']);
  assert.match(crl.stderr + crl.stdout, /verify OK/, 'the new CRL verifies with the original CA certificate');
  const facts = readCrl(restored);
  const revoked = listAll(ca, restored).filter((c: { status: string }) => c.status === 'revoked').map((c: { serial: string }) => c.serial).sort();
  assert.deepEqual(facts.serials, revoked);
  assert.equal(facts.number, readCrl(ca.home).number + 2, 'CRL numbers continue from the backup');
  assert.equal(openssl(['verify', '-CAfile', join(ca.home, 'ca.pem'), join(ca.out, 'dave.pem')]).code, 0);

  const restoredLog = JSON.parse(okAt(ca, restored, ['log', '--json']).stdout) as { command: string; detail: string }[];
  assert.match(restoredLog.find((e) => e.command === 'restore')!.detail, /from .*pocketca\.backup, a backup made \d{4}-/);
  const originalLog = JSON.parse(ca.ok(['log', '--json']).stdout) as { command: string; outcome: string }[];
  assert.ok(originalLog.some((e) => e.command === 'backup' && e.outcome === 'ok'));
});

test('restore refuses an existing CA without --force, a wrong passphrase, and damaged or forged backups', async (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice', '--profile', 'server', '--dns', 'alice.home.arpa']);
  const file = join(ca.dir, 'good.backup');
  ca.ok(['backup', file]);
  // An earlier backup of this CA is replaced (SPEC "Outputs never destroy what is not theirs"); test/e2e/outputs.test.ts has the refusals.
  ca.ok(['backup', file]);

  // Onto an existing CA: refused, then replaced with --force.
  const other = createTestCa();
  t.after(() => other.cleanup());
  const before = readFileSync(join(other.home, 'ca.pem'));
  const refused = runAt(ca, other.home, ['restore', file]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^error: a CA already exists in .*\nhint: .*--force/m);
  assert.deepEqual(readFileSync(join(other.home, 'ca.pem')), before, 'nothing touched');
  okAt(ca, other.home, ['restore', file, '--force']);
  assert.deepEqual(readFileSync(join(other.home, 'ca.pem')), readFileSync(join(ca.home, 'ca.pem')));
  assert.deepEqual(listAll(ca, other.home), listAll(ca));
  assert.equal(integrityCheck(other.home), 'ok');

  const target = join(ca.dir, 'fresh');
  const wrong = runAt(ca, target, ['restore', file, '--passphrase-file', secretFile(ca.dir, 'wrong', 'not the passphrase')]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^error: wrong CA passphrase$/m);
  assert.equal(existsSync(target), false, 'nothing written');

  const { manifest, members, raw } = readBackup(file);
  const entries = [...members.entries()];
  // Each forged backup below is re-signed with the CA's own key (openssl), so what refuses it is the check named.
  const own = keyOf(ca);
  const damaged: [string, (bad: string) => void, RegExp][] = [
    ['a flipped byte in the database', (bad) => {
      const copy = Buffer.from(raw);
      copy[20 + raw.readUInt32BE(16) + 1000]! ^= 1;
      writeFileSync(bad, copy);
    }, /member pocketca\.db does not match its SHA-256 checksum/],
    ['truncated', (bad) => writeFileSync(bad, raw.subarray(0, raw.length - 10)), /describes \d+ \(truncated\?\)/],
    ['not a backup', (bad) => writeFileSync(bad, 'hello\n'), /does not start with "pocketca-backup"/],
    ['a member named ../evil', (bad) => writeBackup(bad, manifest, [...entries, ['../evil', Buffer.from('x')]], own), /member name "..\/evil" is not allowed/],
    ['an unexpected member', (bad) => writeBackup(bad, manifest, [...entries.slice(0, 4), ['authorized_keys', Buffer.from('x')]], own), /unexpected member authorized_keys/],
    ['a member listed twice', (bad) => writeBackup(bad, manifest, [...entries.slice(0, 4), ['ca.pem', entries[2]![1]]], own), /member ca\.pem is listed twice/],
    ['a member larger than the file', (bad) => {
      writeBackup(bad, manifest, entries, own);
      const text = readFileSync(bad).toString('latin1').replace(/"size": \d+/, '"size": 99999999999');
      const fixed = Buffer.from(text, 'latin1');
      fixed.writeUInt32BE(fixed.readUInt32BE(16) + text.length - readFileSync(bad).length, 16);
      writeFileSync(bad, fixed);
    }, /member pocketca\.db is 99999999999 bytes, more than the whole file/],
    ['no key', (bad) => writeBackup(bad, manifest, entries.filter(([n]) => n !== 'ca.key.pem'), own), /it has no ca\.key\.pem/],
    ['a newer format', (bad) => writeBackup(bad, { ...manifest, version: 3 }, entries, own), /format version 3; this pocketca reads up to 2/],
    ['a signature moved inside the manifest', (bad) => {
      const { signature, ...rest } = manifest;
      const json = Buffer.from(JSON.stringify({ signature, ...rest }, null, 2) + '\n');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(json.length);
      writeFileSync(bad, Buffer.concat([MAGIC, length, json, ...entries.map(([, d]) => d)]));
    }, /its signature is not the last field of its manifest/],
    ['another CA\'s key', (bad) => writeBackup(bad, manifest, entries.map(([n, d]) => [n, n === 'ca.key.pem' ? readFileSync(join(ca.dir, 'other-key.pem')) : d]), own), /does not belong to the CA certificate/],
    ['a database that is not SQLite', (bad) => writeBackup(bad, manifest, entries.map(([n, d]) => [n, n === 'pocketca.db' ? Buffer.alloc(8192, 'not a database\n') : d]), own), /its pocketca\.db cannot be opened: it is not an SQLite database/],
    ['a database of another CA', (bad) => writeBackup(bad, manifest, entries.map(([n, d]) => [n, n === 'pocketca.db' ? readFileSync(join(ca.dir, 'other.db')) : d]), own), /its database belongs to another CA/],
    ['a CRL that is not the database\'s latest', (bad) => writeBackup(bad, manifest, entries.map(([n, d]) => [n, n === 'crl.pem' ? readFileSync(join(ca.dir, 'old-crl.pem')) : d]), own), /its crl\.pem is not the latest CRL its database records/],
  ];
  const third = createTestCa();
  t.after(() => third.cleanup());
  writeFileSync(join(ca.dir, 'other-key.pem'), readFileSync(join(third.home, 'ca.key.pem')));
  third.ok(['backup', join(ca.dir, 'third.backup')]);
  writeFileSync(join(ca.dir, 'other.db'), readBackup(join(ca.dir, 'third.backup')).members.get('pocketca.db')!);
  // For the last case: the older CRL put into a backup made after the next CRL.
  writeFileSync(join(ca.dir, 'old-crl.pem'), members.get('crl.pem')!);
  ca.ok(['crl']);
  ca.ok(['backup', join(ca.dir, 'newer.backup')]);
  entries.splice(0, entries.length, ...readBackup(join(ca.dir, 'newer.backup')).members.entries());
  await expectRefused(
    ca,
    damaged.map(([label, make, words], i) => {
      const bad = join(ca.dir, `bad-${i}.backup`);
      make(bad);
      return { label, file: bad, code: 2, words };
    }),
  );
  assert.equal(existsSync(join(ca.dir, 'evil')), false);
});

test('backup is consistent while other processes sign CRLs, and records refused attempts', async (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'x', '--profile', 'server', '--dns', 'x.home.arpa']);
  const files = [0, 1, 2].map((i) => join(ca.dir, `b${i}.backup`));
  const runs = await Promise.all([
    ...files.map((f) => ca.runAsync(['backup', f])),
    // Each signer renames crl.pem just before it commits: a backup that copied
    // the database and read the file without the write lock caught that gap.
    ...[0, 1, 2, 3].map(() => ca.runAsync(['crl'])),
    ca.runAsync(['revoke', 'x']),
  ]);
  runs.forEach((r) => assert.equal(r.code, 0, r.stderr));
  for (const [i, f] of files.entries()) okAt(ca, join(ca.dir, `restored-${i}`), ['restore', f]);

  const wrong = ca.run(['backup', join(ca.dir, 'refused.backup'), '--passphrase-file', secretFile(ca.dir, 'wrong', 'not the passphrase')]);
  assert.equal(wrong.code, 1);
  assert.equal(existsSync(join(ca.dir, 'refused.backup')), false);
  const log = JSON.parse(ca.ok(['log', '--json']).stdout) as { command: string; outcome: string }[];
  assert.deepEqual(log.filter((e) => e.command === 'backup').map((e) => e.outcome), ['ok', 'ok', 'ok', 'refused']);
});

test('a backup started while a CRL is in place but not yet recorded waits for that commit and holds the new CRL', async (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const crlPath = join(ca.home, 'crl.pem');
  const before = readFileSync(crlPath);
  // The signer renames crl.pem into place, then stops for 3 s before it commits.
  const signer = ca.runAsync(['crl'], { env: { POCKETCA_TEST_PAUSE_AT: 'crl:written@3000' } });
  const deadline = Date.now() + 20_000;
  while (readFileSync(crlPath).equals(before)) {
    assert.ok(Date.now() < deadline, 'the signer never wrote crl.pem');
    await new Promise((r) => setTimeout(r, 20));
  }
  const file = join(ca.dir, 'mid.backup');
  const backup = await ca.runAsync(['backup', file, '--json']);
  assert.equal((await signer).code, 0);
  assert.equal(backup.code, 0, backup.stderr);
  assert.equal((JSON.parse(backup.stdout) as { crlNumber: number }).crlNumber, 2, 'the CRL the signer published, not the one before it');
  const restored = JSON.parse(okAt(ca, join(ca.dir, 'restored'), ['restore', file, '--json']).stdout) as { crlNumber: number };
  assert.equal(restored.crlNumber, 2);
});

/** Run SQL on a database file with python3's sqlite3 (not pocketca's SQLite); prints the last query's first value. */
function python3Sql(db: string, script: string, query = ''): string {
  const program = 'import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\ndb.executescript(sys.argv[2])\ndb.commit()\nif sys.argv[3]: print(db.execute(sys.argv[3]).fetchone()[0])\ndb.close()\n';
  const r = tool('python3', ['-c', program, db, script, query]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

/** A copy of the backup's database member changed by `script`. */
function tamperedDatabase(dir: string, db: Buffer, script: string): Buffer {
  const path = join(dir, `tampered-${process.hrtime.bigint()}.db`);
  writeFileSync(path, db);
  python3Sql(path, script);
  return readFileSync(path);
}

/** Migration 006's trigger would stop the deletes (a revocation is permanent): the attacker drops it first. */
const TRIGGER = 'DROP TRIGGER IF EXISTS revocations_permanent_delete; CREATE TRIGGER forget_revocations AFTER INSERT ON revocations BEGIN DELETE FROM revocations; END;';

test('issue 9: a trigger planted in a backup\'s database, checksums fixed, is refused (signature, then schema) and nothing is written', async (t) => {
  if (!requireTool(t, 'openssl') || !requireTool(t, 'python3')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice', '--profile', 'server', '--dns', 'alice.home.arpa']);
  ca.ok(['issue', 'bob', '--profile', 'server', '--dns', 'bob.home.arpa']);
  ca.ok(['revoke', 'alice']);
  const file = join(ca.dir, 'good.backup');
  ca.ok(['backup', file]);
  const { manifest, members } = readBackup(file);
  const entries = [...members.entries()];
  const withDb = (db: Buffer): [string, Buffer][] => entries.map(([n, d]) => [n, n === 'pocketca.db' ? db : d]);
  const planted = tamperedDatabase(ca.dir, members.get('pocketca.db')!, TRIGGER);

  // The attack is real: in the tampered database, revoking bob deletes every revocation.
  const bob = (listAll(ca) as { name: string; serial: string }[]).find((c) => c.name === 'bob')!.serial;
  const probe = join(ca.dir, 'probe.db');
  writeFileSync(probe, planted);
  assert.equal(python3Sql(probe, `INSERT INTO revocations VALUES ('${bob}', '2026-05-01T00:00:00.000Z', 'keyCompromise');`, 'SELECT COUNT(*) FROM revocations'), '0');

  const other = createTestCa();
  t.after(() => other.cleanup());
  const own = keyOf(ca);
  const forged = (name: string, db: Buffer, signing: Signing): string => {
    const path = join(ca.dir, name);
    writeBackup(path, manifest, withDb(db), signing);
    return path;
  };
  const stale = forged('stale.backup', planted, 'stale');
  const resigned = forged('resigned.backup', planted, own);
  const schema = /error: not a usable pocketca backup: its database schema is not the one pocketca creates: /;
  await expectRefused(ca, [
    { label: 'checksums fixed, old signature', file: stale, code: 1, words: /^error: the backup's signature does not verify with the CA certificate inside it/m },
    { label: 'checksums fixed, old signature, onto a home with --force', file: stale, code: 1, words: /signature does not verify/, into: other.home },
    { label: 're-signed with the CA key', file: resigned, code: 2, words: new RegExp(schema.source + 'an extra trigger "forget_revocations"') },
    { label: 're-signed, onto a home with --force', file: resigned, code: 2, words: /an extra trigger "forget_revocations"/, into: other.home },
    { label: 'as an unsigned backup', file: forged('unsigned-default.backup', planted, 'unsigned'), code: 1, words: /the backup is not signed/ },
    { label: 'as an unsigned backup, with --allow-unsigned', file: forged('unsigned.backup', planted, 'unsigned'), code: 1, words: /the backup is not signed, but its manifest names schema version \d+/, args: ['--allow-unsigned'] },
    { label: 'a view', file: forged('view.backup', tamperedDatabase(ca.dir, members.get('pocketca.db')!, 'CREATE VIEW everything AS SELECT * FROM certificates;'), own), code: 2, words: /an extra view "everything"/ },
    { label: 'an index dropped', file: forged('index.backup', tamperedDatabase(ca.dir, members.get('pocketca.db')!, 'DROP INDEX certificates_name;'), own), code: 2, words: /no index "certificates_name"/ },
    { label: 'a column added', file: forged('column.backup', tamperedDatabase(ca.dir, members.get('pocketca.db')!, 'ALTER TABLE events ADD COLUMN note TEXT;'), own), code: 2, words: /a changed table "events"/ },
    { label: 'an older user_version than its schema', file: forged('version.backup', tamperedDatabase(ca.dir, members.get('pocketca.db')!, 'PRAGMA user_version = 1;'), own), code: 2, words: /an extra index "certificates_issued_at"/ },
  ]);

  // The same re-signing of the untouched database restores: what refused the others is the change.
  const control = join(ca.dir, 'control');
  okAt(ca, control, ['restore', forged('control.backup', members.get('pocketca.db')!, own)]);
  assert.deepEqual(listAll(ca, control), listAll(ca));

  // A database at an older schema version, exactly as migration 001 alone made it, is no tampering: restored, then migrated.
  const older = join(ca.dir, 'older');
  // Migrations 004 and 005 rebuilt `certificates` (profile intermediate, source scep) and 005 `revocations` (no reference):
  // put back 001's tables, the references left as they are.
  const table001 = (name: string) => new RegExp(`CREATE TABLE ${name} \\([\\s\\S]*?\\) STRICT;`).exec(readFileSync(join(ROOT, 'migrations', '001_init.sql'), 'utf8'))![0];
  const v1 = tamperedDatabase(
    ca.dir,
    members.get('pocketca.db')!,
    `PRAGMA legacy_alter_table = ON; ALTER TABLE certificates RENAME TO certificates_v5; ${table001('certificates')} INSERT INTO certificates SELECT * FROM certificates_v5; ` +
      'DROP TABLE certificates_v5; CREATE INDEX certificates_name ON certificates (name); CREATE INDEX certificates_not_after ON certificates (not_after); ' +
      `ALTER TABLE revocations RENAME TO revocations_v5; ${table001('revocations')} INSERT INTO revocations SELECT * FROM revocations_v5; ` +
      'DROP TABLE revocations_v5; CREATE INDEX revocations_revoked_at ON revocations (revoked_at); PRAGMA user_version = 1;',
  );
  okAt(ca, older, ['restore', forged('older.backup', v1, own)]);
  assert.deepEqual(listAll(ca, older), listAll(ca));
  assert.equal(withDatabase(older, (db) => db.pragma('user_version', { simple: true })), withDatabase(ca.home, (db) => db.pragma('user_version', { simple: true })));
});

test('a backup re-signed by another CA\'s key, or carrying another CA\'s certificate, is refused; a whole other CA restores and shows its own fingerprint', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const other = createTestCa(['--name', 'Mallory Root CA']);
  t.after(() => other.cleanup());
  const file = join(ca.dir, 'good.backup');
  ca.ok(['backup', file]);
  const { manifest, members } = readBackup(file);
  const entries = [...members.entries()];
  const resignedByOther = join(ca.dir, 'other-key.backup');
  writeBackup(resignedByOther, manifest, entries, keyOf(other));
  const otherCert = join(ca.dir, 'other-cert.backup');
  writeBackup(otherCert, manifest, entries.map(([n, d]) => [n, n === 'ca.pem' ? readFileSync(join(other.home, 'ca.pem')) : d]), 'stale');
  await expectRefused(ca, [
    { label: 're-signed by another CA\'s key', file: resignedByOther, code: 1, words: /signature does not verify with the CA certificate inside it/ },
    { label: 'another CA\'s certificate with the original signature', file: otherCert, code: 1, words: /signature does not verify/ },
  ]);

  // A backup of another CA is consistent in itself: it restores, and what tells it apart is the fingerprint printed first.
  const otherFile = join(other.dir, 'other.backup');
  other.ok(['backup', otherFile]);
  const restored = join(ca.dir, 'restored-other');
  const r = okAt(ca, restored, ['restore', otherFile]);
  const otherFingerprint = opensslFingerprint(join(other.home, 'ca.pem'));
  assert.notEqual(otherFingerprint, opensslFingerprint(join(ca.home, 'ca.pem')));
  assert.match(r.stderr, /^backup signed by the CA "CN=Mallory Root CA"$/m);
  assert.equal(/^ {2}SHA-256 (\S+)$/m.exec(r.stderr)![1], otherFingerprint);
  assert.equal(opensslFingerprint(join(restored, 'ca.pem')), otherFingerprint);
});

test('a flipped byte in any member or in the manifest, and a truncated file, are refused with exit 1 or 2 and nothing written', async (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice', '--sign-profile', '--p12-password-file', secretFile(ca.dir, 'pw', 'backup-test')]);
  const file = join(ca.dir, 'good.backup');
  ca.ok(['backup', file]);
  const { manifest, members, raw } = readBackup(file);
  const length = raw.readUInt32BE(16);
  const cases: RefusedCase[] = [];
  const write = (name: string, data: Buffer) => {
    const path = join(ca.dir, name);
    writeFileSync(path, data);
    return path;
  };
  let offset = 20 + length;
  for (const m of manifest.members) {
    const flipped = Buffer.from(raw);
    flipped[offset + (m.size >> 1)]! ^= 0x01;
    cases.push({ label: `a flipped byte in ${m.name}`, file: write(`flip-${m.name}`, flipped), code: 2, words: new RegExp(`member ${m.name.replace(/\./g, '\\.')} does not match its SHA-256 checksum`) });
    // With its checksum fixed: the signature no longer verifies. In ca.pem the byte is in its PEM
    // header (a flip inside its base64 may leave no certificate to verify with: exit 2, also refused).
    const at = m.name === 'ca.pem' ? 5 : m.size >> 1;
    const entries = [...members.entries()].map(([n, d]): [string, Buffer] => {
      if (n !== m.name) return [n, d];
      const copy = Buffer.from(d);
      copy[at]! ^= 0x01;
      return [n, copy];
    });
    const path = join(ca.dir, `flip-fixed-${m.name}`);
    writeBackup(path, manifest, entries, 'stale');
    cases.push(
      m.name === 'ca.pem'
        ? { label: 'a flipped byte in ca.pem, checksum fixed', file: path, code: 2, words: /its ca\.pem holds no certificate/ }
        : { label: `a flipped byte in ${m.name}, checksum fixed`, file: path, code: 1, words: /signature does not verify/ },
    );
    offset += m.size;
  }
  const text = raw.subarray(20, 20 + length).toString('latin1');
  const inManifest = (label: string, at: number, code: 1 | 2 = 1, words = /signature does not verify/) => {
    const copy = Buffer.from(raw);
    // A digit or letter becomes another one, so the manifest stays JSON with hex checksums and a base64 signature.
    copy[20 + at] = copy[20 + at] === 0x30 ? 0x31 : 0x30;
    cases.push({ label, file: write(`flip-${label.replace(/\W+/g, '-')}`, copy), code, words });
  };
  inManifest('a changed creation time', text.indexOf('"createdAt": "') + 16);
  inManifest('a changed signature', text.indexOf('"value":"') + 20);
  inManifest('a changed checksum', text.indexOf('"sha256": "') + 12, 2, /member pocketca\.db does not match its SHA-256 checksum/);
  for (const cut of [0, 7, 16, 18, 20, 20 + (length >> 1), 20 + length, 20 + length + 100, raw.length - 1]) {
    cases.push({ label: `truncated to ${cut} bytes`, file: write(`cut-${cut}`, raw.subarray(0, cut)), code: 2, words: cut === 0 ? /the file is empty/ : /truncated/ });
  }
  await expectRefused(ca, cases);
});

test('a first-release (unsigned) backup is refused unless --allow-unsigned, which still checks it and warns; a signed backup stripped of its signature is refused (issue 16)', async (t) => {
  if (!requireTool(t, 'openssl') || !requireTool(t, 'python3')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  // A backup the first release wrote (test/fixtures/backup/README.md), and this CA's signed backup stripped of its signature.
  const fixture = join(ca.dir, 'first-release.backup');
  writeFileSync(fixture, gunzipSync(readFileSync(join(ROOT, 'test', 'fixtures', 'backup', 'first-release.backup.gz'))));
  ca.ok(['issue', 'alice', '--profile', 'server', '--dns', 'alice.home.arpa']);
  const file = join(ca.dir, 'good.backup');
  ca.ok(['backup', file]);
  const { manifest, members } = readBackup(file);
  const schema = manifest.schemaVersion as number;
  assert.ok(schema > 2, `this pocketca writes schema ${schema}`);
  const stripped = join(ca.dir, 'stripped.backup');
  writeBackup(stripped, manifest, [...members.entries()], 'unsigned');
  assert.equal(readBackup(stripped).manifest.version, 1);
  assert.equal(readBackup(stripped).manifest.signature, undefined);
  // The same, its manifest also claiming the first release's schema: the database inside says otherwise.
  const claimed = join(ca.dir, 'claimed.backup');
  writeBackup(claimed, { ...manifest, schemaVersion: 2 }, [...members.entries()], 'unsigned');
  // The attack on the first release's format: a trigger planted, checksums fixed.
  const old = readBackup(fixture);
  assert.equal(old.manifest.version, 1);
  assert.equal(old.manifest.signature, undefined);
  assert.equal(old.manifest.schemaVersion, 2);
  const planted = join(ca.dir, 'planted.backup');
  writeBackup(planted, old.manifest, [...old.members.entries()].map(([n, d]) => [n, n === 'pocketca.db' ? tamperedDatabase(ca.dir, d, TRIGGER) : d]), 'stale');
  const notSigned = /^error: the backup is not signed \(format version 1, written by pocketca [^)]*\): nothing proves who wrote it\nhint: .*--allow-unsigned/m;
  const strippedWords = new RegExp(`^error: the backup is not signed, but its manifest names schema version ${schema}, which only a pocketca that signs its backups writes \\(the first release wrote 2 or lower\\): its signature was removed\nhint: use another backup; do not restore this one$`, 'm');
  const cases: RefusedCase[] = [
    { label: 'the first release\'s backup, by default', file: fixture, code: 1, words: notSigned },
    { label: 'the first release\'s backup with a planted trigger, with --allow-unsigned', file: planted, code: 2, words: /an extra trigger "forget_revocations"/, args: ['--allow-unsigned'] },
    { label: 'stripped, by default', file: stripped, code: 1, words: strippedWords },
    { label: 'stripped, with --allow-unsigned', file: stripped, code: 1, words: strippedWords, args: ['--allow-unsigned'] },
    { label: 'stripped, with --allow-unsigned, over a home', file: stripped, code: 1, words: strippedWords, args: ['--allow-unsigned'], into: ca.home },
    { label: 'stripped, the manifest claiming schema 2, with --allow-unsigned', file: claimed, code: 1, words: new RegExp(`^error: the backup is not signed, but its database is at schema version ${schema}`, 'm'), args: ['--allow-unsigned'] },
  ];
  await expectRefused(ca, cases);
  // The hint names --allow-unsigned only where it would help: never for a stripped signature.
  for (const c of cases.slice(2)) {
    const r = await pocketcaAsync(['restore', c.file, '--home', join(ca.dir, 'probe'), '--passphrase-file', ca.passFile, ...(c.args ?? [])]);
    assert.doesNotMatch(r.stderr, /allow-unsigned/, c.label);
  }

  const restored = join(ca.dir, 'restored-first-release');
  const r = okAt(ca, restored, ['restore', fixture, '--allow-unsigned', '--json']);
  assert.match(r.stderr, /^warning: this backup is not signed/m);
  assert.match(r.stderr, /^unsigned backup of the CA "CN=first release Root CA"$/m);
  const expected = '0D:D2:E1:16:A2:A4:6D:4B:E3:F5:B4:4E:EE:FA:40:CE:82:F7:E3:ED:8D:37:64:EB:B4:46:F9:D7:C7:1D:17:CF';
  assert.equal(/^ {2}SHA-256 (\S+)$/m.exec(r.stderr)![1], expected);
  assert.equal(opensslFingerprint(join(restored, 'ca.pem')), expected);
  assert.equal(JSON.parse(r.stdout).signed, false);
  assert.equal(integrityCheck(restored), 'ok');
  const fromFixture = listAll(ca, restored) as { name: string; status: string; reason: string | null }[];
  // (alice's certificate expires in January 2028: `valid` until then, `expired` after; either way not revoked.)
  assert.deepEqual(fromFixture.map((c) => [c.name, c.status === 'revoked' ? c.reason : 'not revoked']), [['alice', 'not revoked'], ['bob', 'keyCompromise']]);
});

test('backup unlocks the CA key to sign: no passphrase and no terminal is exit 2 with the hint, nothing written', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const file = join(ca.dir, 'nopass.backup');
  const r = pocketca(['backup', file, '--home', ca.home]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error: no CA passphrase given and no terminal to ask on\nhint: use --passphrase-file FILE or set POCKETCA_PASSPHRASE$/m);
  assert.equal(existsSync(file), false);
});

test('backup - refuses a terminal as stdout before unlocking the key or recording anything', async (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const events = () => withDatabase(ca.home, (db) => (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n);
  const before = events();
  const s = runInPty(['backup', '-', '--home', ca.home, '--passphrase-file', ca.passFile], { cwd: ca.out });
  assert.equal(await s.exited, 2, s.output());
  assert.match(screenText(s.output()), /error: FILE -: a pocketca backup is binary: stdout is a terminal/);
  assert.doesNotMatch(s.output(), /pocketca-backup|ENCRYPTED PRIVATE KEY/, 'no backup bytes on the terminal');
  assert.equal(events(), before, 'nothing recorded');
});

test("restore refuses a home someone else can change: another user's directory, or one writable by others", (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const file = join(ca.dir, 'good.backup');
  ca.ok(['backup', file]);
  const refused = (home: string, why: RegExp) => {
    const r = runAt(ca, home, ['restore', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, why);
    assert.deepEqual(readdirSync(home), [], 'nothing written');
  };
  const shared = join(ca.dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o777);
  // An empty home is made 0700, as init does; then it is the user's own.
  okAt(ca, shared, ['restore', file]);
  assert.equal(statSync(shared).mode & 0o777, 0o700);
  if (process.getuid?.() === 0) {
    const theirs = join(ca.dir, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, 65534, 65534);
    refused(theirs, /error: .*theirs is owned by uid 65534/);
  } else t.diagnostic('the other-owner case needs root');
});
