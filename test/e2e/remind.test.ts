/**
 * `pocketca remind`: the .ics it writes, read by Debian's python3-icalendar
 * (through /usr/bin/python3: another python3 may come first on PATH), with
 * the dates checked against openssl's reading of the certificates and the
 * CRL; its UIDs across exports; the output rule for --out; `share` of the
 * file (text/calendar, and its page); and the commands that point to it.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl, pocketca, tempDir, type TestCa } from '../helpers/cli';
import { fetchRaw, startServing, withTimeout } from '../helpers/lan-server';
import { DEBIAN_PYTHON, requirePythonModule, requireTool } from '../helpers/tools';

interface ReadEvent {
  uid: string;
  start: string;
  summary: string;
  description: string;
  sequence: number;
  alarms: { action: string; trigger: string; description: string }[];
}

/** The events of an .ics as python3-icalendar reads them. */
function readIcs(bytes: Buffer): ReadEvent[] {
  const script = `
import json, sys
from icalendar import Calendar
cal = Calendar.from_ical(sys.stdin.buffer.read())
assert str(cal['VERSION']) == '2.0'
print(json.dumps([{
    'uid': str(e['UID']),
    'start': e.decoded('DTSTART').isoformat(),
    'summary': str(e['SUMMARY']),
    'description': str(e['DESCRIPTION']),
    'sequence': int(e.get('SEQUENCE', 0)),
    'alarms': [{'action': str(a['ACTION']), 'trigger': str(a.decoded('TRIGGER')), 'description': str(a['DESCRIPTION'])} for a in e.walk('VALARM')],
} for e in cal.walk('VEVENT')]))
`;
  const r = spawnSync(DEBIAN_PYTHON, ['-c', script], { input: bytes, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** An openssl date (-dateopt iso_8601: "2027-12-06 11:59:20Z") as epoch ms. */
function opensslDate(args: string[]): number {
  const r = openssl([...args, '-noout', '-dateopt', 'iso_8601']);
  assert.equal(r.code, 0, r.stderr);
  return Date.parse(r.stdout.trim().replace(/^\w+=/, '').replace(' ', 'T'));
}

const byPrefix = (events: ReadEvent[], prefix: string) => events.filter((e) => e.uid.startsWith(prefix));

function tools(t: TestContext): boolean {
  return requireTool(t, 'openssl') && requirePythonModule(t, 'icalendar');
}

/** A CA with a client, a server, a device's own CSR (sign), an intermediate, and a revoked client. */
function populatedCa(t: TestContext): TestCa {
  const ca = createTestCa(['--name', 'Home; Root, CA']);
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice-iphone']);
  ca.ok(['issue', 'web', '--profile', 'server', '--dns', 'web.home.arpa']);
  ca.ok(['issue', 'bob-pixel']);
  ca.ok(['revoke', 'bob-pixel', '--reason', 'keyCompromise']);
  for (const [name, profile] of [['sensor-1', 'client'], ['online-ca', 'intermediate']] as const) {
    const key = join(ca.dir, `${name}.key`);
    const csr = join(ca.dir, `${name}.csr`);
    assert.equal(openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/CN=${name}`, '-out', csr]).code, 0);
    ca.ok(['sign', csr, '--profile', profile, '--out', join(ca.out, `${name}.pem`)]);
  }
  return ca;
}

test('remind: an event per valid certificate at its expiry, none for the revoked, the CRL and the CA, alarms on each, read by python3-icalendar', (t) => {
  if (!tools(t)) return;
  const ca = populatedCa(t);
  const ics = join(ca.out, 'reminders.ics');
  const r = ca.ok(['remind', '--out', ics]);
  assert.match(r.stdout, /^wrote 6 reminders \(4 certificates, the CRL, the CA\) to .*reminders\.ics$/m);
  assert.match(r.stderr, /next: pocketca share reminders\.ics/);
  const bytes = readFileSync(ics);
  // RFC 5545 §3.1 on the raw bytes: CRLF line ends, 75 octets at most.
  assert.doesNotMatch(bytes.toString('utf8').replace(/\r\n/g, ''), /[\r\n]/);
  for (const line of bytes.toString('utf8').split('\r\n')) assert.ok(Buffer.byteLength(line) <= 75, line);

  const events = readIcs(bytes);
  const listed: { serial: string; name: string; notAfter: string; status: string }[] = JSON.parse(ca.ok(['list', '--all', '--json']).stdout);
  const valid = listed.filter((c) => c.status === 'valid');
  const revoked = listed.find((c) => c.name === 'bob-pixel')!;
  assert.equal(valid.length, 4);
  const certs = byPrefix(events, 'cert-');
  assert.deepEqual(certs.map((e) => e.uid.slice(5, e.uid.indexOf('.'))).sort(), valid.map((c) => c.serial).sort(), 'one event per valid certificate');
  assert.ok(!events.some((e) => e.uid.includes(revoked.serial) || /bob-pixel/.test(e.summary + e.description)), 'none for the revoked one');
  for (const c of valid) {
    const e = certs.find((x) => x.uid.startsWith(`cert-${c.serial}.`))!;
    assert.equal(Date.parse(e.start), Date.parse(c.notAfter), `${c.name} at its expiry`);
    assert.match(e.summary, new RegExp(`^${c.name}: `));
  }
  // The dates as openssl reads them from the files.
  const alice = certs.find((e) => e.summary.startsWith('alice-iphone:'))!;
  assert.equal(Date.parse(alice.start), opensslDate(['x509', '-in', join(ca.out, 'alice-iphone.pem'), '-enddate']));
  const [crl] = byPrefix(events, 'crl-next-update.');
  assert.ok(crl, 'the CRL event');
  assert.equal(Date.parse(crl.start), opensslDate(['crl', '-in', join(ca.home, 'crl.pem'), '-nextupdate']), "at the CRL's nextUpdate");
  assert.match(crl.description, /pocketca crl/);
  assert.ok(crl.description.includes(join(ca.home, 'crl.pem')), 'where crl.pem is');
  assert.match(crl.description, /\/etc\/pocketca\/crl\.pem/);
  const [caEvent] = byPrefix(events, 'ca-expiry.');
  assert.ok(caEvent, 'the CA event');
  assert.equal(Date.parse(caEvent.start), opensslDate(['x509', '-in', join(ca.home, 'ca.pem'), '-enddate']), "at the CA's expiry");
  assert.match(caEvent.summary, /^Home; Root, CA: CA certificate expires$/, 'escaped text read back as written');

  // The command to run, by how each certificate was made.
  assert.match(alice.description, /pocketca renew alice-iphone\n/);
  assert.match(alice.description, /pocketca share alice-iphone\.mobileconfig/);
  assert.match(certs.find((e) => e.summary.startsWith('web:'))!.description, /pocketca renew web\n[\s\S]*web\.key\.pem on the server/);
  assert.match(certs.find((e) => e.summary.startsWith('sensor-1:'))!.description, /pocketca renew sensor-1 --csr NEW\.csr/);
  assert.match(certs.find((e) => e.summary.startsWith('online-ca:'))!.description, /intermediate[\s\S]*pocketca renew online-ca --csr NEW\.csr/);

  // Alarms on every event: DISPLAY, 30 and 7 days before (the CA also 180).
  for (const e of events) {
    const triggers = e.alarms.map((a) => a.trigger);
    assert.ok(triggers.includes('-30 days, 0:00:00') && triggers.includes('-7 days, 0:00:00'), `${e.uid}: ${triggers.join(', ')}`);
    for (const a of e.alarms) {
      assert.equal(a.action, 'DISPLAY');
      assert.ok(a.description.startsWith(e.summary), a.description);
    }
  }
  assert.ok(caEvent.alarms.some((a) => a.trigger === '-180 days, 0:00:00'));
});

test('remind: UIDs are stable across exports; a renewal replaces its certificate, a new CRL moves the CRL event (higher SEQUENCE)', (t) => {
  if (!tools(t)) return;
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice-iphone']);
  ca.ok(['issue', 'carol-ipad']);
  const first = readIcs(Buffer.from(ca.ok(['remind']).stdout, 'utf8'));
  const second = readIcs(Buffer.from(ca.ok(['remind']).stdout, 'utf8'));
  assert.deepEqual(second.map((e) => e.uid), first.map((e) => e.uid), 'the same UIDs in a second export');
  assert.deepEqual(second, first, 'and the same events');
  const uids = first.map((e) => e.uid);
  assert.equal(new Set(uids).size, uids.length, 'unique');
  const caPart = /\.([0-9a-f]{32})@pocketca$/.exec(uids[0]!)![1]!;
  const fingerprint = openssl(['x509', '-in', join(ca.home, 'ca.pem'), '-noout', '-fingerprint', '-sha256']).stdout.replace(/^.*=|:|\s/g, '').toLowerCase();
  assert.ok(fingerprint.startsWith(caPart), 'UIDs name the CA by its fingerprint');
  assert.ok(uids.every((u) => u.endsWith(`.${caPart}@pocketca`)));

  const oldAlice = first.find((e) => e.summary.startsWith('alice-iphone:'))!;
  const oldCrl = first.find((e) => e.uid.startsWith('crl-'))!;
  ca.ok(['renew', 'alice-iphone']);
  const third = readIcs(Buffer.from(ca.ok(['remind']).stdout, 'utf8'));
  assert.ok(!third.some((e) => e.uid === oldAlice.uid), 'the superseded certificate is gone');
  assert.equal(third.filter((e) => e.summary.startsWith('alice-iphone:')).length, 1, 'its successor is there');
  assert.deepEqual(third.find((e) => e.summary.startsWith('carol-ipad:')), first.find((e) => e.summary.startsWith('carol-ipad:')), 'the others unchanged');
  const newCrl = third.find((e) => e.uid.startsWith('crl-'))!;
  assert.equal(newCrl.uid, oldCrl.uid, 'one CRL event that moves');
  assert.ok(newCrl.sequence > oldCrl.sequence, `SEQUENCE ${newCrl.sequence} > ${oldCrl.sequence}`);
});

test('remind --out follows the output rule; --json lists the events; it needs no passphrase', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice-iphone']);
  const ics = join(ca.out, 'reminders.ics');
  // No passphrase at all: remind is read-only.
  const noKey = pocketca(['remind', '--out', ics, '--home', ca.home], { cwd: ca.out });
  assert.equal(noKey.code, 0, noKey.stderr);
  assert.equal(ca.run(['remind', '--out', ics]).code, 0, 'its own earlier file is replaced');

  const notes = join(ca.out, 'notes.txt');
  writeFileSync(notes, 'my notes\n');
  const refused = ca.run(['remind', '--out', notes]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^error: .*notes\.txt already exists and is not a reminders file of this CA/m);
  assert.match(refused.stderr, /^hint: .*--force/m);
  assert.equal(readFileSync(notes, 'utf8'), 'my notes\n', 'untouched');
  assert.equal(ca.run(['remind', '--out', notes, '--force']).code, 0);
  assert.match(readFileSync(notes, 'utf8'), /^BEGIN:VCALENDAR\r\n/);

  // Another CA's reminders file is not this CA's.
  const other = createTestCa();
  t.after(() => other.cleanup());
  const foreign = join(ca.out, 'other.ics');
  writeFileSync(foreign, other.ok(['remind']).stdout);
  assert.equal(ca.run(['remind', '--out', foreign]).code, 1);

  const inHome = ca.run(['remind', '--out', join(ca.home, 'reminders.ics')]);
  assert.equal(inHome.code, 2);
  assert.match(inHome.stderr, /inside the CA home/);

  const json = JSON.parse(ca.ok(['remind', '--json']).stdout);
  assert.deepEqual(Object.keys(json), ['events']);
  assert.deepEqual(json.events.map((e: { kind: string }) => e.kind).sort(), ['ca', 'certificate', 'crl']);
  const alice = json.events.find((e: { kind: string }) => e.kind === 'certificate');
  assert.equal(alice.name, 'alice-iphone');
  assert.deepEqual(alice.alarmDaysBefore, [30, 7]);
  assert.match(alice.uid, /^cert-[0-9a-f]+\.[0-9a-f]{32}@pocketca$/);
  const written = JSON.parse(ca.ok(['remind', '--json', '--out', ics]).stdout);
  assert.equal(written.path, ics);
  assert.equal(written.events.length, 3);

  const none = pocketca(['remind', '--home', join(tempDir(), 'nothing')]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^error: /m);
});

test('share reminders.ics serves text/calendar; charset=utf-8, and a browser gets its page first', async (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'alice-iphone']);
  const ics = join(ca.out, 'reminders.ics');
  ca.ok(['remind', '--out', ics]);
  const serving = await startServing(t, ['share', ics, '--bind', '127.0.0.1', '--json', '--ttl', '30s'], ['url'], 'share');
  const url = new URL(serving.json.url!);
  const page = (await fetchRaw(url, url.pathname, 'GET', undefined, { headers: { accept: 'text/html', 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)' } }))!;
  assert.equal(page.status, 200);
  assert.match(page.body.toString(), /<h1>Certificate reminders<\/h1>/);
  assert.match(page.body.toString(), /Add All/);
  const got = (await fetchRaw(url, url.pathname))!;
  assert.equal(got.status, 200);
  assert.equal(got.headers['content-type'], 'text/calendar; charset=utf-8');
  assert.equal(got.headers['content-disposition'], 'attachment; filename="reminders.ics"');
  assert.ok(got.body.equals(readFileSync(ics)), 'byte for byte');
  assert.equal(await withTimeout(serving.exited, 10_000, 'exit after the download'), 0);
});

test('share of a .ics says on the computer what the phone does with it', (t) => {
  const dir = tempDir();
  t.after(() => spawnSync('rm', ['-rf', dir]));
  const ics = join(dir, 'reminders.ics');
  writeFileSync(ics, 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n');
  const r = pocketca(['share', ics, '--bind', '127.0.0.1', '--ttl', '1s'], { timeoutMs: 15_000 });
  assert.equal(r.code, 1, 'the TTL passes');
  assert.match(r.stderr, /serving reminders\.ics \(text\/calendar; charset=utf-8/);
  const flat = r.stderr.replace(/\s+/g, ' ');
  assert.match(flat, /iPhone or iPad: .*Safari opens the file in Calendar .*which lists the reminders\. 2\. Tap Add All/);
  assert.match(flat, /Android: .*a calendar app that imports \.ics files adds the events/);
  assert.doesNotMatch(flat, /PKCS#12/);
});

test('init, issue, renew and doctor point to pocketca remind, once; not with --json or -q', (t) => {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  const count = (text: string) => text.match(/pocketca remind/g)?.length ?? 0;
  const init = pocketca(['init', '--home', join(ca.dir, 'second'), '--key-size', '2048', '--passphrase-file', ca.passFile]);
  assert.equal(init.code, 0, init.stderr);
  assert.equal(count(init.stderr), 1, init.stderr);
  const issue = ca.ok(['issue', 'alice-iphone']);
  assert.equal(count(issue.stderr), 1, issue.stderr);
  assert.match(issue.stderr, /it expires \d{4}-\d\d-\d\d; to be reminded in a phone's calendar/);
  assert.equal(count(ca.ok(['issue', 'web', '--profile', 'server', '--dns', 'web.home.arpa']).stderr), 1, 'for a server too');
  assert.equal(count(ca.ok(['renew', 'alice-iphone']).stderr), 1);
  assert.equal(count(ca.ok(['doctor']).stderr), 1);
  for (const flag of ['--json', '-q']) {
    for (const args of [['issue', `quiet${flag.replace(/-/g, '')}`], ['renew', 'web'], ['doctor']]) {
      const r = ca.ok([...args, flag]);
      assert.equal(count(r.stderr) + count(r.stdout), 0, `${args.join(' ')} ${flag}: ${r.stderr}`);
    }
  }
});
