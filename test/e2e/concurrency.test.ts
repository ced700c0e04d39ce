/**
 * SPEC "Guarantees": two (here eight) pocketca processes on one home at once
 * all succeed or fail cleanly; serials are unique; CRL numbers only increase;
 * the last CRL lists exactly the revoked serials.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createTestCa, openssl, secretFile, type RunResult } from '../helpers/cli';
import { requireTool } from '../helpers/tools';
import { crlNumbers, integrityCheck, readCrl, revokedSerials, withDatabase } from '../helpers/guarantees';

test('8 processes issuing, signing, revoking, renewing and re-signing CRLs on one home at once', async (t) => {
  if (!requireTool(t, 'openssl')) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const p12 = ['--p12-password-file', secretFile(ca.dir, 'p12-password', 'concurrency')];
  const csr = join(ca.dir, 'device.csr');
  assert.equal(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', csr + '.key', '-subj', '/CN=device', '-out', csr]).code, 0);
  for (let i = 0; i < 6; i++) ca.ok(['sign', csr, '--name', `v${i}`, '--out', join(ca.out, `v${i}.pem`)]);
  ca.ok(['issue', 'phone-a', ...p12]);
  ca.ok(['issue', 'phone-b', ...p12]);

  const rounds: string[][][] = [
    [
      ['issue', 'n0', ...p12],
      ['issue', 'n1', '--profile', 'server', '--dns', 'n1.home.arpa'],
      ['sign', csr, '--name', 'g0'],
      ['revoke', 'v0'],
      ['revoke', 'v1', '--reason', 'keyCompromise'],
      // Two processes revoking the same certificate: exactly one may win.
      ['revoke', 'v2'],
      ['revoke', 'v2'],
      ['crl'],
    ],
    [
      ['renew', 'phone-a', ...p12],
      ['renew', 'phone-b', ...p12, '--keep-old'],
      ['revoke', 'v3'],
      ['revoke', 'v4'],
      ['crl'],
      ['crl', '--days', '30'],
      ['issue', 'n2', ...p12],
      ['sign', csr, '--name', 'g1', '--profile', 'server', '--dns', 'g1.home.arpa'],
    ],
  ];
  const reportedCrls: number[] = [];
  for (const round of rounds) {
    const results: RunResult[] = await Promise.all(round.map((args) => ca.runAsync([...args, '--json'], { timeoutMs: 120_000 })));
    results.forEach((r, i) => {
      const what = `pocketca ${round[i]!.join(' ')}`;
      assert.ok(r.code === 0 || r.code === 1, `${what} exited ${r.code}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /internal error|SQLITE_|at .*\.js:\d+/, `${what}: a clean error`);
      if (r.code === 1) {
        assert.match(r.stderr, /^error: /m, `${what}: one error line`);
        return;
      }
      const json = JSON.parse(r.stdout);
      if (typeof json.number === 'number') reportedCrls.push(json.number);
      if (typeof json.crlNumber === 'number') reportedCrls.push(json.crlNumber);
    });
    const v2 = results.map((r, i) => ({ r, args: round[i]! })).filter((x) => x.args[0] === 'revoke' && x.args[1] === 'v2');
    if (v2.length) {
      assert.deepEqual(v2.map((x) => x.r.code).sort(), [0, 1], 'one revoke of v2 wins, the other is refused');
      assert.match(v2.find((x) => x.r.code === 1)!.r.stderr, /already revoked/);
    }
    for (const [i, r] of results.entries()) if (round[i]![0] !== 'revoke' || round[i]![1] !== 'v2') assert.equal(r.code, 0, `${round[i]!.join(' ')}: ${r.stderr}`);
  }

  assert.equal(integrityCheck(ca.home), 'ok');
  const serials = withDatabase(ca.home, (db) => db.prepare('SELECT serial FROM certificates').pluck().all() as string[]);
  assert.equal(new Set(serials).size, serials.length, 'serials are unique');
  // 6 signed + 2 phones, then round 1: 2 issued + 1 signed; round 2: 2 renewed + 1 issued + 1 signed.
  assert.equal(serials.length, 8 + 3 + 4);

  assert.equal(new Set(reportedCrls).size, reportedCrls.length, `every CRL a process reported has its own number: ${reportedCrls}`);
  const numbers = crlNumbers(ca.home);
  for (let i = 1; i < numbers.length; i++) assert.ok(numbers[i]! > numbers[i - 1]!, `CRL numbers strictly increase in signing order: ${numbers}`);
  // init's CRL, then: round 1 three revokes + one crl; round 2 one renew + two revokes + two crls.
  assert.equal(numbers.length, 1 + 4 + 5);

  const crl = readCrl(ca.home);
  assert.equal(crl.number, Math.max(...numbers), 'crl.pem is the newest CRL');
  const revoked = revokedSerials(ca.home);
  assert.deepEqual(crl.serials, revoked, 'the final CRL lists exactly the revoked serials');
  assert.equal(revoked.length, 5 + 1, 'v0-v4 and the renewed phone-a');
});
