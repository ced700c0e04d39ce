/**
 * Names decoded with the DER reader rather than node-forge (issue 6: `sign`
 * no longer loads forge): names from encodeName, and names built by hand
 * for the string types encodeName does not write (BMPString, T61String,
 * IA5String) and for malformed ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readOid, readTlv } from '../../src/formats/der-reader';
import { commonNameFromDer, decodeName, decodeRdns, encodeName, formatName } from '../../src/formats/x500-name';
import { oid } from '../../src/formats/der';

const tlv = (tag: number, content: Buffer): Buffer => Buffer.concat([Buffer.from([tag, content.length]), content]);
const rdn = (type: string, tag: number, value: Buffer): Buffer => tlv(0x31, tlv(0x30, Buffer.concat([oid(type), tlv(tag, value)])));
const name = (...rdns: Buffer[]): Buffer => tlv(0x30, Buffer.concat(rdns));

test('decodeName reads what encodeName writes, in DER order', () => {
  const attributes = [
    { type: 'C', value: 'DE' },
    { type: 'O', value: 'Café, Bäckerei' },
    { type: 'CN', value: 'alice 😀' },
    { type: '1.2.3.4.5', value: 'x' },
  ];
  assert.deepEqual(decodeName(encodeName(attributes)), attributes);
  assert.equal(formatName(decodeName(encodeName(attributes))), 'C=DE, O=Café\\, Bäckerei, CN=alice 😀, 1.2.3.4.5=x');
  assert.equal(commonNameFromDer(encodeName(attributes)), 'alice 😀');
});

test('decodeName: BMPString is UTF-16BE, the single-octet types are Latin-1, malformed UTF-8 is refused', () => {
  const bmp = Buffer.from('héllo 日本', 'utf16le').swap16();
  assert.deepEqual(decodeName(name(rdn('2.5.4.3', 0x1e, bmp))), [{ type: 'CN', value: 'héllo 日本' }]);
  assert.deepEqual(decodeName(name(rdn('2.5.4.3', 0x14, Buffer.from([0x41, 0xe9])))), [{ type: 'CN', value: 'Aé' }], 'T61String');
  assert.deepEqual(decodeName(name(rdn('2.5.4.10', 0x13, Buffer.from('Home')), rdn('2.5.4.3', 0x16, Buffer.from('a@b')))), [
    { type: 'O', value: 'Home' },
    { type: 'CN', value: 'a@b' },
  ]);
  assert.throws(() => decodeName(name(rdn('2.5.4.3', 0x0c, Buffer.from([0xc3, 0x28])))), URIError);
  assert.throws(() => decodeName(name(rdn('2.5.4.3', 0x1e, Buffer.from([0x00])))), /odd BMPString/);
  assert.throws(() => decodeName(Buffer.from([0x30, 0x05, 0x31, 0x03, 0x30, 0x01, 0x06])), /truncated/);
});

test('readOid: the first two arcs share a subidentifier; arc 2 takes the rest from 80', () => {
  for (const dotted of ['2.5.4.3', '1.2.840.113549.1.9.14', '0.9.2342.19200300.100.1.25', '1.3.6.1.4.1.11591.4.11']) {
    const der = oid(dotted);
    assert.equal(readOid(der, readTlv(der, 0)), dotted);
  }
  const joint = Buffer.from('0603883701', 'hex'); // X.690 §8.19.5 example: 2.999.1
  assert.equal(readOid(joint, readTlv(joint, 0)), '2.999.1');
});

test('decodeRdns keeps the RDN grouping and says which strings break their type (Go refuses those names)', () => {
  const multi = tlv(0x31, Buffer.concat([tlv(0x30, Buffer.concat([oid('2.5.4.10'), tlv(0x13, Buffer.from('a_b'))])), tlv(0x30, Buffer.concat([oid('2.5.4.3'), tlv(0x13, Buffer.from('dave'))]))]));
  const rdns = decodeRdns(name(multi, rdn('2.5.4.3', 0x16, Buffer.from([0x41, 0xe9])), rdn('2.5.4.3', 0x0c, Buffer.from('ok'))));
  assert.deepEqual(
    rdns.map((r) => r.map((a) => [a.type, a.value, a.tag, a.wellFormed])),
    [
      [
        ['O', 'a_b', 0x13, false],
        ['CN', 'dave', 0x13, true],
      ],
      [['CN', 'Aé', 0x16, false]],
      [['CN', 'ok', 0x0c, true]],
    ],
  );
  assert.equal(decodeRdns(name(rdn('2.5.4.3', 0x1e, Buffer.from([0xd8, 0x00]))))[0]![0]!.wellFormed, false, 'a lone surrogate');
  assert.equal(decodeRdns(name(rdn('2.5.4.3', 0x14, Buffer.from([0x41, 0xe9]))))[0]![0]!.wellFormed, true, 'T61String read as Latin-1');
  assert.throws(() => decodeRdns(tlv(0x30, tlv(0x30, Buffer.alloc(0)))), /a RelativeDistinguishedName is a SET/);
});

test('formatName escapes values as RFC 4514 §2.4 (issue 10)', () => {
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ['a+b', 'a\\+b'],
    ['Smith, Inc.', 'Smith\\, Inc.'],
    ['say "hi"', 'say \\"hi\\"'],
    ['<tag>;x', '\\<tag\\>\\;x'],
    ['back\\slash', 'back\\\\slash'],
    ['#1', '\\#1'],
    ['a#b', 'a#b'],
    [' lead', '\\ lead'],
    ['trail ', 'trail\\ '],
    [' ', '\\ '],
    ['in side', 'in side'],
    ['nul\u0000', 'nul\\00'],
    ['😀 ', '😀\\ '],
  ];
  for (const [value, shown] of cases) assert.equal(formatName([{ type: 'CN', value }]), `CN=${shown}`, JSON.stringify(value));
});
