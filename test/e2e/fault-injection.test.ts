/**
 * SPEC "Guarantees" under kill -9: every command that writes is killed at each
 * step that touches the disk (POCKETCA_TEST_DIE_AT=<checkpoint> SIGKILLs the
 * process there: inside the recording transaction, after it commits, before
 * each rename, after the CRL's rename), and after every kill:
 *   - the database passes PRAGMA integrity_check;
 *   - every certificate in a file on disk is in the database;
 *   - no file under a final name is half-written (each parses completely),
 *     leftovers exist only under temporary names (.NAME.tmp-PID-RANDOM);
 *   - every committed revocation is in crl.pem, which verifies, and the CRL
 *     number on disk never goes back;
 *   - the next command works.
 * The kill is asserted (exit by SIGKILL): a misspelt checkpoint fails the test.
 * `issue --batch` is killed between identities and inside one: the ones
 * before are complete and recorded, at most the one in flight is partial.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, secretFile, type TestCa } from '../helpers/cli';
import { requireTool } from '../helpers/tools';
import {
  checkHomeFiles,
  clientIdentityState,
  crlNumbers,
  integrityCheck,
  readCrl,
  recordedFingerprints,
  revokedSerials,
  scanOutDir,
  withDatabase,
  type DiskCertificate,
} from '../helpers/guarantees';

interface Case {
  /** The checkpoint to die at. */
  point: string;
  /** The command killed there. */
  args: string[];
  /** The command run next, which must exit 0. */
  next: string[];
  /** Further checks once `next` has run. */
  after?: () => void;
}

class Harness {
  readonly p12Pass: string;
  /** Fingerprints of files already parsed, by inode, size and time: a file is parsed once. */
  readonly cache = new Map<string, DiskCertificate | null>();
  private crlOnDisk: number;

  constructor(readonly ca: TestCa) {
    this.p12Pass = secretFile(ca.dir, 'p12-password', 'fault-injection');
    this.crlOnDisk = readCrl(ca.home).number;
  }

  assertSound(label: string): void {
    const { ca } = this;
    assert.equal(integrityCheck(ca.home), 'ok', `${label}: integrity_check`);
    const recorded = recordedFingerprints(ca.home);
    const out = scanOutDir(ca.out, this.p12Pass, this.cache);
    for (const c of out.certificates) assert.ok(recorded.has(c.fingerprint), `${label}: ${c.file} holds a certificate that is not in the database`);
    const home = checkHomeFiles(ca.home);
    for (const temp of [...out.temps, ...home.temps]) assert.doesNotMatch(temp, /^[^.]/, `${label}: ${temp} is not a final name`);
    const crl = readCrl(ca.home);
    for (const serial of revokedSerials(ca.home)) assert.ok(crl.serials.includes(serial), `${label}: revoked ${serial} is in crl.pem`);
    assert.ok(crl.number >= this.crlOnDisk, `${label}: CRL number on disk went from ${this.crlOnDisk} back to ${crl.number}`);
    const numbers = crlNumbers(ca.home);
    assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b), `${label}: CRL numbers increase in signing order`);
    this.crlOnDisk = crl.number;
  }

  async run(c: Case): Promise<void> {
    const killed = this.ca.run(c.args, { env: { POCKETCA_TEST_DIE_AT: c.point } });
    assert.equal(killed.code, 128, `pocketca ${c.args.join(' ')} was to die at ${c.point}, but exited ${killed.code}: ${killed.stderr}`);
    this.assertSound(`killed at ${c.point}`);
    const crlBefore = this.crlOnDisk;
    const next = this.ca.run(c.next);
    assert.equal(next.code, 0, `after a kill at ${c.point}, pocketca ${c.next.join(' ')}: ${next.stderr}`);
    this.assertSound(`after ${c.point}, ${c.next[0]}`);
    if (['revoke', 'crl', 'renew'].includes(c.next[0]!)) assert.ok(this.crlOnDisk > crlBefore, `a new CRL number after ${c.point}`);
    c.after?.();
  }

  p12(): string[] {
    return ['--p12-password-file', this.p12Pass];
  }
}

/** A name's certificates from the database itself, oldest first: status 'valid' or 'revoked' and the reason. */
const certificatesOf = (ca: TestCa, name: string): { serial: string; status: string; reason: string | null }[] =>
  withDatabase(ca.home, (db) =>
    db
      .prepare(
        `SELECT c.serial, CASE WHEN r.serial IS NULL THEN 'valid' ELSE 'revoked' END AS status, r.reason
         FROM certificates c LEFT JOIN revocations r ON r.serial = c.serial WHERE c.name = ? ORDER BY c.issued_at, c.rowid`,
      )
      .all(name) as { serial: string; status: string; reason: string | null }[],
  );

test('fault injection: issue and sign killed at every disk step', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const h = new Harness(ca);
  const client = (name: string) => ['issue', name, '--keep-key', ...h.p12()];
  const server = (name: string) => ['issue', name, '--profile', 'server', '--dns', `${name}.home.arpa`];
  const cases: Case[] = [
    ...['issue:recording', 'issue:recorded', 'before-rename:c$.pem', 'before-rename:c$.p12', 'before-rename:c$.mobileconfig', 'before-rename:c$.key.pem'].map(
      (point, i) => ({ point: point.replace('$', String(i)), args: client(`c${i}`), next: [...client(`c${i}`), '--force'] }),
    ),
    ...['issue:recorded', 'before-rename:s$.pem', 'before-rename:s$.key.pem', 'before-rename:s$.fullchain.pem'].map((point, i) => ({
      point: point.replace('$', String(i)),
      args: server(`s${i}`),
      next: [...server(`s${i}`), '--force'],
    })),
    // The profile-signing key is the one private file `issue` writes into the home.
    { point: 'before-rename:profile-signer.key.pem', args: [...client('p0'), '--sign-profile'], next: [...client('p0'), '--sign-profile', '--force'] },
  ];
  const csr = join(ca.dir, 'device.csr');
  assert.equal(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', csr + '.key', '-subj', '/CN=sensor', '-out', csr]).code, 0);
  for (const [i, point] of ['sign:recording', 'sign:recorded', 'before-rename:g$.pem'].entries()) {
    const args = ['sign', csr, '--name', `g${i}`, '--out', join(ca.out, `g${i}.pem`)];
    cases.push({ point: point.replace('$', String(i)), args, next: args });
  }
  for (const c of cases) await t.test(`${c.args[0]} killed at ${c.point}`, () => h.run(c));
  // Nothing was recorded twice for one run: the certificates are those of the runs that committed.
  assert.equal(integrityCheck(ca.home), 'ok');
});

test('fault injection: revoke, crl and renew killed at every disk step', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const h = new Harness(ca);
  const csr = join(ca.dir, 'victim.csr');
  assert.equal(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', csr + '.key', '-subj', '/CN=victim', '-out', csr]).code, 0);
  const crlSteps = ['crl:recorded', 'before-rename:crl.pem', 'crl:written'];
  const cases: Case[] = [];
  for (const [i, point] of ['revoke:revocation-recorded', ...crlSteps].entries()) {
    ca.ok(['sign', csr, '--name', `v${i}`, '--out', join(ca.out, `v${i}.pem`)]);
    cases.push({
      point,
      args: ['revoke', `v${i}`, '--reason', 'keyCompromise'],
      next: ['revoke', `v${i}`, '--reason', 'keyCompromise'],
      after: () => assert.equal(certificatesOf(ca, `v${i}`)[0]!.reason, 'keyCompromise'),
    });
  }
  for (const point of crlSteps) cases.push({ point, args: ['crl'], next: ['crl'] });
  ca.ok(['issue', 'phone', ...h.p12()]);
  for (const point of [
    'renew:recording',
    'renew:recorded',
    'before-rename:phone.pem',
    'before-rename:phone.p12',
    'before-rename:phone.mobileconfig',
    'renew:issued',
    'renew:revocation-recorded',
    ...crlSteps,
  ]) {
    cases.push({
      point,
      args: ['renew', 'phone', ...h.p12()],
      // Running the same renew again finishes an interrupted one.
      next: ['renew', 'phone', ...h.p12()],
      after: () => {
        const phone = certificatesOf(ca, 'phone');
        assert.equal(phone.filter((c) => c.status === 'valid').length, 1, 'one valid certificate for the device');
        for (const old of phone.filter((c) => c.status !== 'valid')) assert.equal(old.reason, 'superseded');
        const onDisk = scanOutDir(ca.out, h.p12Pass, h.cache).certificates.filter((c) => c.file.startsWith('phone.'));
        const valid = withDatabase(ca.home, (db) =>
          db.prepare("SELECT fingerprint_sha256 FROM certificates c WHERE name = 'phone' AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.serial = c.serial)").pluck().get(),
        );
        for (const file of onDisk) assert.equal(file.fingerprint, valid, `${file.file} holds the valid certificate`);
      },
    });
  }
  for (const c of cases) await t.test(`${c.args[0]} killed at ${c.point}`, () => h.run(c));
  // The final CRL lists exactly the revoked serials.
  assert.deepEqual(readCrl(ca.home).serials, revokedSerials(ca.home));
});

test('fault injection: issue --batch killed midway leaves only complete, recorded identities', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const h = new Harness(ca);
  const batch = (prefix: string): { file: string; names: string[] } => {
    const names = Array.from({ length: 12 }, (_, i) => `${prefix}-${String(i + 1).padStart(2, '0')}`);
    const file = join(ca.dir, `${prefix}.txt`);
    writeFileSync(file, names.join('\n') + '\n');
    return { file, names };
  };
  const stateOf = (names: string[], passwordFile: (name: string) => string, dir = ca.out) => names.map((n) => clientIdentityState(ca.home, dir, n, passwordFile(n)));
  /** `complete` identities first, then at most the one in flight, then `absent` ones: where the kill came. */
  const expectStates = (states: string[], complete: number, inFlight: 'partial' | 'absent' | 'none', label: string) => {
    const expected = states.map((_, i) => (i < complete ? 'complete' : i === complete && inFlight === 'partial' ? 'partial' : 'absent'));
    assert.deepEqual(states, expected, label);
  };

  // With one password for all (--p12-password-file), every file is checked by the harness too.
  const killed: [string, number, 'partial' | 'absent'][] = [
    ['issue:recording', 0, 'absent'], // inside the first identity's transaction: rolled back
    ['batch:5', 5, 'absent'], // between two identities
    ['before-rename:k2-07.p12', 6, 'partial'], // the seventh recorded, its .pem written, its .p12 not yet
  ];
  for (const [i, [point, complete, inFlight]] of killed.entries()) {
    const { file, names } = batch(`k${i}`);
    const args = ['issue', '--batch', file, ...h.p12()];
    await t.test(`issue --batch killed at ${point}`, async () => {
      await h.run({
        point,
        args,
        // Again with --force: the remaining names, and new certificates for those already issued.
        next: [...args, '--force'],
        after: () => {
          for (const state of stateOf(names, () => h.p12Pass)) assert.equal(state, 'complete', 'the batch run again completes every identity');
        },
      });
    });
    // What the kill itself left: checked on a copy of the batch killed the same way.
    const { file: file2, names: names2 } = batch(`k${i}b`);
    const point2 = point.replace(`k${i}-`, `k${i}b-`);
    const r = ca.run(['issue', '--batch', file2, ...h.p12()], { env: { POCKETCA_TEST_DIE_AT: point2 } });
    assert.equal(r.code, 128, `killed at ${point2}: ${r.stderr}`);
    h.assertSound(`killed at ${point2}`);
    expectStates(stateOf(names2, () => h.p12Pass), complete, inFlight, `after a kill at ${point2}`);
  }

  // With generated passwords: passwords.csv is written before each identity is recorded, so every issued .p12 has its password there.
  for (const [point, complete] of [
    ['before-rename:passwords.csv', 0],
    ['batch:4', 4],
    ['before-rename:g2-09.mobileconfig', 8],
  ] as const) {
    const prefix = point.startsWith('before-rename:g') ? 'g2' : point === 'batch:4' ? 'g1' : 'g0';
    const { file, names } = batch(prefix);
    const dir = join(ca.dir, `out-${prefix}`);
    mkdirSync(dir);
    const r = ca.run(['issue', '--batch', file, '--out-dir', dir], { env: { POCKETCA_TEST_DIE_AT: point } });
    assert.equal(r.code, 128, `killed at ${point}: ${r.stderr}`);
    const csv = join(dir, 'passwords.csv');
    const passwords = existsSync(csv) ? new Map(readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',') as [string, string])) : new Map<string, string>();
    const files = new Map([...passwords].map(([name, pw]) => [name, secretFile(ca.dir, `pw-${prefix}-${name}`, pw)]));
    const states = stateOf(names, (n) => files.get(n) ?? '/nonexistent', dir);
    expectStates(states, complete, point.includes('mobileconfig') ? 'partial' : 'absent', `after a kill at ${point}`);
    // Every identity that has files has its password; at most the one in flight has a password but no record.
    for (const [i, name] of names.entries()) if (states[i] !== 'absent') assert.ok(passwords.has(name), `${name} has its password in passwords.csv`);
    assert.ok(passwords.size <= complete + 1, 'no password ahead of the identity in flight');
    assert.equal(integrityCheck(ca.home), 'ok');
  }
});
