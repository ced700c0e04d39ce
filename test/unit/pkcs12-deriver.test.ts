/**
 * Issue 16, item 11: every request to the PKCS#12 worker settles, whatever
 * the worker does. Workers that misbehave on purpose stand in for the real
 * one; the material always matches what preparePkcs12 derives.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { preparePkcs12, type Pkcs12Secrets } from '../../src/formats/pkcs12';
import { startPkcs12Deriver } from '../../src/host/pkcs12-deriver';

/** A worker script in the test's own directory. */
function workerScript(t: TestContext, body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pocketca-deriver-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'worker.js');
  writeFileSync(path, `'use strict';\nconst { parentPort } = require('node:worker_threads');\n${body}\n`);
  return path;
}

/** Resolves with the requests' outcomes, or rejects after `ms` when one never settles. */
function settleWithin<T>(promises: Promise<T>[], ms: number): Promise<PromiseSettledResult<T>[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`a request did not settle within ${ms} ms`)), ms);
    void Promise.allSettled(promises).then((r) => {
      clearTimeout(timer);
      resolve(r);
    });
  });
}

/** Derived here when the worker could not: the locally prepared material, marked. */
const here = (password: string, format: 'legacy' | 'modern'): Pkcs12Secrets => ({ ...preparePkcs12(password, format), format });

const cases: [string, string][] = [
  // Answers the first request, then its thread ends (as a worker whose loop empties): 'exit', no 'error'.
  ['ends after one reply', "parentPort.once('message', (m) => parentPort.postMessage({ id: m.id, error: 'answered' }));"],
  // Throws on the first request: 'error', then 'exit'.
  ['throws', "parentPort.on('message', () => { throw new Error('broken worker'); });"],
  // Listens but never answers, then exits on its own: nothing but 'exit' tells the main thread.
  ['never answers and ends', "parentPort.on('message', () => {}); setTimeout(() => process.exit(0), 200);"],
];

for (const [what, body] of cases) {
  test(`PKCS#12 deriver: a worker that ${what} leaves no request pending`, async (t) => {
    const deriver = startPkcs12Deriver(here, workerScript(t, body));
    t.after(() => deriver.close());
    const requests = ['a', 'b', 'c', 'd'].map((p) => deriver.derive(`pw-${p}`, 'legacy'));
    const results = await settleWithin(requests, 10_000);
    for (const r of results.slice(1)) assert.equal(r.status, 'fulfilled', 'the requests after the first are derived on the main thread');
    for (const r of results) if (r.status === 'fulfilled') assert.equal(r.value.format, 'legacy');
  });
}

test('PKCS#12 deriver: the real worker answers in order; close() rejects what is still pending', async (t) => {
  const deriver = startPkcs12Deriver(here);
  t.after(() => deriver.close());
  const first = await settleWithin([deriver.derive('pw-1', 'modern')], 30_000);
  assert.equal(first[0]!.status, 'fulfilled');
  const secrets = (first[0] as PromiseFulfilledResult<Pkcs12Secrets>).value;
  assert.ok(Buffer.isBuffer(secrets.mac.key) && secrets.mac.key.length === 32, 'material comes back as Buffers (SHA-256 MAC key)');
  const late = deriver.derive('pw-2', 'legacy');
  deriver.close();
  const [outcome] = await settleWithin([late], 10_000);
  assert.equal(outcome!.status, 'rejected', 'a request its batch no longer needs is rejected, not derived');
});
