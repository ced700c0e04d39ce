import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, pocketca, pocketcaAsync, secretFile, type RunResult, type TestCa } from '../helpers/cli';
import { requireTool } from '../helpers/tools';
import { integrityCheck, readCrl } from '../helpers/guarantees';

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

/** The backup's layout, read by the test itself: magic, length, manifest JSON, members. */
function readBackup(path: string): { manifest: { members: { name: string; size: number; sha256: string }[]; [k: string]: unknown }; members: Map<string, Buffer>; raw: Buffer } {
  const raw = readFileSync(path);
  assert.equal(raw.subarray(0, 16).toString('latin1'), 'pocketca-backup\n');
  const length = raw.readUInt32BE(16);
  const manifest = JSON.parse(raw.subarray(20, 20 + length).toString('utf8'));
  const members = new Map<string, Buffer>();
  let offset = 20 + length;
  for (const m of manifest.members) {
    members.set(m.name, raw.subarray(offset, offset + m.size));
    offset += m.size;
  }
  assert.equal(offset, raw.length);
  return { manifest, members, raw };
}

/** A backup file from a (possibly altered) manifest and members; checksums recomputed unless told otherwise. */
function writeBackup(path: string, manifest: Record<string, unknown>, members: [string, Buffer][], fixChecksums = true): void {
  const list = members.map(([name, data], i) => ({
    name,
    size: data.length,
    sha256: fixChecksums ? createHash('sha256').update(data).digest('hex') : (manifest.members as { sha256: string }[])[i]!.sha256,
  }));
  const json = Buffer.from(JSON.stringify({ ...manifest, members: list }));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  writeFileSync(path, Buffer.concat([Buffer.from('pocketca-backup\n'), length, json, ...members.map(([, d]) => d)]));
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
  const { manifest, members } = readBackup(file);
  assert.deepEqual([...members.keys()], ['pocketca.db', 'ca.key.pem', 'ca.pem', 'crl.pem', 'bundle.pem', 'profile-signer.key.pem']);
  for (const m of manifest.members) assert.equal(createHash('sha256').update(members.get(m.name)!).digest('hex'), m.sha256);
  assert.deepEqual(members.get('ca.key.pem'), readFileSync(join(ca.home, 'ca.key.pem')));
  assert.match(members.get('ca.key.pem')!.toString(), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
  assert.equal(manifest.version, 1);
  const caFingerprint = openssl(['x509', '-in', join(ca.home, 'ca.pem'), '-noout', '-fingerprint', '-sha256']).stdout.trim().split('=')[1];
  assert.equal((manifest.ca as { fingerprintSha256: string }).fingerprintSha256, caFingerprint);

  const restored = join(ca.dir, 'restored');
  const r = JSON.parse(okAt(ca, restored, ['restore', file, '--json']).stdout);
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
  const again = ca.run(['backup', file]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists[\s\S]*hint: .*--force/);
  ca.ok(['backup', file, '--force']);

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
  const damaged: [string, (bad: string) => void, RegExp][] = [
    ['a flipped byte in the database', (bad) => {
      const copy = Buffer.from(raw);
      copy[20 + raw.readUInt32BE(16) + 1000]! ^= 1;
      writeFileSync(bad, copy);
    }, /member pocketca\.db does not match its SHA-256 checksum/],
    ['truncated', (bad) => writeFileSync(bad, raw.subarray(0, raw.length - 10)), /describes \d+ \(truncated\?\)/],
    ['not a backup', (bad) => writeFileSync(bad, 'hello\n'), /does not start with "pocketca-backup"/],
    ['a member named ../evil', (bad) => writeBackup(bad, manifest, [...entries, ['../evil', Buffer.from('x')]]), /member name "..\/evil" is not allowed/],
    ['an unexpected member', (bad) => writeBackup(bad, manifest, [...entries, ['authorized_keys', Buffer.from('x')]]), /unexpected member authorized_keys/],
    ['no key', (bad) => writeBackup(bad, manifest, entries.filter(([n]) => n !== 'ca.key.pem')), /it has no ca\.key\.pem/],
    ['a newer format', (bad) => writeBackup(bad, { ...manifest, version: 2 }, entries), /format version 2; this pocketca reads up to 1/],
    ['another CA\'s key', (bad) => writeBackup(bad, manifest, entries.map(([n, d]) => [n, n === 'ca.key.pem' ? readFileSync(join(ca.dir, 'other-key.pem')) : d])), /does not belong to the CA certificate/],
    ['a database of another CA', (bad) => writeBackup(bad, manifest, entries.map(([n, d]) => [n, n === 'pocketca.db' ? readFileSync(join(ca.dir, 'other.db')) : d])), /its database belongs to another CA/],
    ['a CRL that is not the database\'s latest', (bad) => writeBackup(bad, manifest, entries.map(([n, d]) => [n, n === 'crl.pem' ? readFileSync(join(ca.dir, 'old-crl.pem')) : d])), /its crl\.pem is not the latest CRL its database records/],
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
  // Each case has its own file and target home, so they run four at a time.
  for (let i = 0; i < damaged.length; i += 4) {
    const batch = damaged.slice(i, i + 4).map(([label, make, words], k) => {
      const bad = join(ca.dir, `bad-${i + k}.backup`);
      make(bad);
      return { label, words, target: join(ca.dir, `target-${i + k}`), bad };
    });
    const results = await Promise.all(batch.map((c) => pocketcaAsync(['restore', c.bad, '--home', c.target, '--passphrase-file', ca.passFile])));
    results.forEach((r, k) => {
      const { label, words, target: home } = batch[k]!;
      assert.equal(r.code, 2, `${label}: ${r.stderr}`);
      assert.match(r.stderr, words, label);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, label);
      assert.equal(existsSync(home), false, `${label}: nothing written, not even the home directory`);
    });
  }
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
