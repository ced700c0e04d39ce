import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, ROOT, secretFile } from '../helpers/cli';

interface Event {
  id: number;
  at: string;
  command: string;
  outcome: string;
  serial: string | null;
  name: string | null;
  detail: string | null;
}

const SERVER_CSR = join(ROOT, 'test', 'fixtures', 'csr', 'rsa-2048-server.csr.der');

test('log: every init, issue, sign, revoke, renew, crl, backup and restore, and the refused ones, in order', (t) => {
  const ca = createTestCa(['--name', 'Home\u001b[2J CA']);
  t.after(() => ca.cleanup());
  const wrong = secretFile(ca.dir, 'wrong', 'not the passphrase');
  const issued = JSON.parse(ca.ok(['issue', 'web', '--profile', 'server', '--dns', 'web.home.arpa', '--json']).stdout);
  const signed = JSON.parse(ca.ok(['sign', SERVER_CSR, '--name', 'dev', '--profile', 'server', '--json']).stdout);
  // A forged CSR and a wrong passphrase are refused, and recorded.
  const forged = Buffer.from(readFileSync(SERVER_CSR));
  forged[forged.indexOf(Buffer.from('fuzz-server'))] ^= 0x20;
  writeFileSync(join(ca.dir, 'forged.der'), forged);
  assert.equal(ca.run(['sign', join(ca.dir, 'forged.der')]).code, 2);
  assert.equal(ca.run(['revoke', 'web', '--passphrase-file', wrong]).code, 1);
  ca.ok(['revoke', 'dev', '--reason', 'keyCompromise']);
  const renewed = JSON.parse(ca.ok(['renew', 'web', '--json']).stdout);
  ca.ok(['crl']);
  ca.ok(['backup', join(ca.dir, 'b.backup')]);

  const events = JSON.parse(ca.ok(['log', '--json']).stdout) as Event[];
  const summary = events.map((e) => [e.command, e.outcome, e.serial, e.name, e.detail]);
  assert.deepEqual(summary.slice(1), [
    ['issue', 'ok', issued.serial, 'web', 'server'],
    ['sign', 'ok', signed.serial, 'dev', 'server'],
    ['sign', 'refused', null, null, 'CSR signature does not verify'],
    ['revoke', 'refused', null, null, 'wrong CA passphrase'],
    ['revoke', 'ok', signed.serial, 'dev', 'keyCompromise'],
    ['renew', 'ok', renewed.serial, 'web', 'server'],
    ['renew', 'ok', issued.serial, 'web', 'superseded'],
    ['crl', 'ok', null, null, summary[8]![4]],
    ['backup', 'ok', null, null, summary[9]![4]],
  ]);
  assert.deepEqual(events[0]!.command, 'init');
  assert.match(String(summary[8]![4]), /^number 4, 2 entries$/);
  assert.match(String(summary[9]![4]), /b\.backup: 3 certificates, CRL number 4$/);
  for (let i = 1; i < events.length; i++) assert.ok(events[i]!.at >= events[i - 1]!.at && events[i]!.id > events[i - 1]!.id, 'in order');

  // The table: a header, one line an event, control characters escaped.
  const table = ca.ok(['log']).stdout.trimEnd().split('\n');
  assert.match(table[0]!, /^TIME\s+COMMAND\s+OUTCOME\s+SERIAL\s+NAME\s+DETAIL$/);
  assert.equal(table.length, events.length + 1);
  assert.match(table[1]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+init\s+ok\s+[0-9a-f]+\s+Home\\u001b\[2J CA/);
  assert.doesNotMatch(table.join('\n'), /\u001b/);
  assert.match(table[4]!, /sign\s+refused\s+-\s+-\s+CSR signature does not verify/);
});

test('log --since: a date, a time or N days/hours back; a bad one is exit 2', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const since = (arg: string) => (JSON.parse(ca.ok(['log', '--json', '--since', arg]).stdout) as Event[]).map((e) => e.command);
  assert.deepEqual(since('1d'), ['init']);
  assert.deepEqual(since('2h'), ['init']);
  assert.deepEqual(since('2000-01-01'), ['init']);
  assert.deepEqual(since('2999-01-01'), []);
  assert.deepEqual(since(new Date(Date.now() + 60_000).toISOString()), []);
  assert.deepEqual(since('2000-01-01T00:00:00+02:00'), ['init']);
  assert.match(ca.ok(['log', '--since', '2999-01-01']).stdout, /^no events$/m);
  for (const bad of ['yesterday', '2026-13-45', '2026-02-31', '7w', '', '2026-01-01T25:00Z']) {
    const r = ca.run(['log', '--since', bad]);
    assert.equal(r.code, 2, `--since ${JSON.stringify(bad)}: ${r.stderr}`);
    assert.match(r.stderr, /^error: --since ".*" is not a date\nhint: use YYYY-MM-DD/m);
  }
});
