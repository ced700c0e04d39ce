import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crlValidityFor } from '../../src/ca/crl-validity';

const NOW = new Date('2026-11-23T10:00:00.750Z');

test('crlValidityFor: thisUpdate 5 minutes early in whole seconds, nextUpdate DAYS from now', () => {
  const v = crlValidityFor(NOW, 30, new Date('2036-01-01T00:00:00Z'));
  assert.equal(v.thisUpdate.toISOString(), '2026-11-23T09:55:00.000Z');
  assert.equal(v.nextUpdate.toISOString(), '2026-12-23T10:00:00.000Z');
});

test('crlValidityFor: nextUpdate is capped at the CA certificate\'s notAfter', () => {
  const v = crlValidityFor(NOW, 365, new Date('2027-01-01T00:00:00Z'));
  assert.equal(v.nextUpdate.toISOString(), '2027-01-01T00:00:00.000Z');
});

test('crlValidityFor: an expired CA still gets nextUpdate no earlier than thisUpdate', () => {
  const v = crlValidityFor(NOW, 365, new Date('2020-01-01T00:00:00Z'));
  assert.equal(v.nextUpdate.toISOString(), v.thisUpdate.toISOString());
});
