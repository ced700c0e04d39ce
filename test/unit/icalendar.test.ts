/**
 * RFC 5545's text rules in src/formats/icalendar.ts: folding at 75 octets
 * (§3.1) without splitting a UTF-8 sequence, CRLF line ends, TEXT escaping
 * (§3.3.11), UTC DATE-TIME (§3.3.5); and the file read back by Debian's
 * python3-icalendar, an implementation independent of this one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { encodeCalendar, escapeText, foldLine, formatDateTime, MAX_LINE_OCTETS } from '../../src/formats/icalendar';
import { DEBIAN_PYTHON, requirePythonModule } from '../helpers/tools';

const unfold = (text: string) => text.replace(/\r\n /g, '');

describe('iCalendar text', () => {
  test('folding: at most 75 octets a line, never inside a UTF-8 sequence, and unfolding gives the line back', () => {
    const lines = [
      'DESCRIPTION:' + 'a'.repeat(300),
      'SUMMARY:' + 'é'.repeat(100), // 2 octets each: a break at 75 would split one
      'SUMMARY:' + '日本語'.repeat(40), // 3 octets each
      'SUMMARY:' + '🔐'.repeat(40), // 4 octets, a surrogate pair in JavaScript
      'X:' + 'a'.repeat(72) + '€€€€', // the 75th octet falls inside the first €
      'SHORT:ok',
      'EXACT:' + 'b'.repeat(75 - 'EXACT:'.length),
    ];
    for (const line of lines) {
      const folded = foldLine(line);
      const physical = folded.split('\r\n');
      for (const [i, part] of physical.entries()) {
        const bytes = Buffer.from(part, 'utf8');
        assert.ok(bytes.length <= MAX_LINE_OCTETS, `${bytes.length} octets: ${part}`);
        // Each physical line alone is whole UTF-8: decoding and encoding it again changes nothing.
        assert.ok(Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes), `a split sequence in line ${i}`);
        if (i > 0) assert.equal(part[0], ' ', 'a continuation starts with one space');
      }
      assert.equal(unfold(folded), line);
      if (Buffer.byteLength(line) <= 75) assert.equal(folded, line, 'short lines are not folded');
      // Each line but the last is as full as it can be: the next character would not have fitted.
      for (let i = 0; i + 1 < physical.length; i++) {
        const nextChar = [...physical[i + 1]!.slice(1)][0]!;
        assert.ok(Buffer.byteLength(physical[i]!) + Buffer.byteLength(nextChar) > MAX_LINE_OCTETS, `line ${i} could hold more`);
      }
    }
  });

  test('TEXT escaping: backslash, semicolon, comma, line breaks; control characters dropped', () => {
    assert.equal(escapeText('a\\b;c,d\ne\r\nf\rg'), 'a\\\\b\\;c\\,d\\ne\\nf\\ng');
    assert.equal(escapeText('tab\there\u0000\u001b[31m\u007f'), 'tab\there[31m');
    assert.equal(escapeText('Café «CA»'), 'Café «CA»');
  });

  test('DATE-TIME in UTC', () => {
    assert.equal(formatDateTime(new Date('2027-01-02T03:04:05.678Z')), '20270102T030405Z');
  });

  test('the file: CRLF everywhere, lines folded; python3-icalendar reads back every value as written', (t) => {
    const description = 'Renew it:\n  pocketca renew alice; then share it, with care\\ and a long line '.repeat(3) + '— fin ✓';
    const ics = encodeCalendar({
      productId: '-//pocketca//remind//EN',
      stamp: new Date('2026-12-01T10:00:00Z'),
      events: [
        { uid: 'cert-0a1b.0123456789abcdef0123456789abcdef@pocketca', at: new Date('2027-12-01T10:00:00Z'), summary: 'alice; phone, «CA»', description, alarmDaysBefore: [30, 7] },
        { uid: 'crl-next-update.x@pocketca', at: new Date('2027-01-01T00:00:00Z'), summary: 'CRL', description: 'pocketca crl', alarmDaysBefore: [30, 7], sequence: 12 },
      ],
    });
    const text = ics.toString('utf8');
    assert.ok(text.endsWith('\r\n'));
    assert.doesNotMatch(text.replace(/\r\n/g, ''), /[\r\n]/, 'every line ends in CRLF');
    for (const line of text.split('\r\n')) assert.ok(Buffer.byteLength(line) <= 75, line);
    if (!requirePythonModule(t, 'icalendar')) return;
    const script = `
import json, sys
from icalendar import Calendar
cal = Calendar.from_ical(sys.stdin.buffer.read())
out = []
for e in cal.walk('VEVENT'):
    out.append({
        'uid': str(e['UID']), 'summary': str(e['SUMMARY']), 'description': str(e['DESCRIPTION']),
        'start': e.decoded('DTSTART').isoformat(), 'sequence': int(e.get('SEQUENCE', 0)),
        'alarms': [str(a.decoded('TRIGGER')) for a in e.walk('VALARM')],
        'actions': [str(a['ACTION']) for a in e.walk('VALARM')],
    })
print(json.dumps({'prodid': str(cal['PRODID']), 'version': str(cal['VERSION']), 'events': out}))
`;
    const r = spawnSync(DEBIAN_PYTHON, ['-c', script], { input: ics, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const read = JSON.parse(r.stdout);
    assert.equal(read.prodid, '-//pocketca//remind//EN');
    assert.equal(read.version, '2.0');
    assert.deepEqual(read.events[0], {
      uid: 'cert-0a1b.0123456789abcdef0123456789abcdef@pocketca',
      summary: 'alice; phone, «CA»',
      description,
      start: '2027-12-01T10:00:00+00:00',
      sequence: 0,
      alarms: ['-30 days, 0:00:00', '-7 days, 0:00:00'],
      actions: ['DISPLAY', 'DISPLAY'],
    });
    assert.equal(read.events[1].sequence, 12);
  });
});
