/**
 * The share server's handler extension point (what `scep` runs on), in
 * process on 127.0.0.1: late content made from the URL, the handler's path
 * under the token (and nothing next to it), GET/POST only, bounded bodies,
 * downloads that no longer end the share, finish(), and a throwing handler
 * that does not end it (issue 16: no request may end `pocketca scep`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OperationFailedError } from '../../src/errors';
import { startShare, type HandlerRequest, type ShareHandler } from '../../src/host/share-server';
import { fetchRaw } from '../helpers/lan-server';

const fixedRandom = (n: number) => Buffer.alloc(n, 0xcd);
const now = () => new Date('2026-06-01T12:00:00Z');

async function serve(t: { after: (f: () => void) => void }, handle: ShareHandler['handle'], maxBodyBytes = 1024) {
  const seen: HandlerRequest[] = [];
  let loadedFor = '';
  const s = await startShare({
    file: { path: '/nowhere/dev.mobileconfig', load: (url) => ((loadedFor = url), Buffer.from(`profile for ${url}`)) },
    bind: '127.0.0.1',
    randomBytes: fixedRandom,
    now,
    ttlMs: 20_000,
    handler: { path: '/scep', maxBodyBytes, handle: (r, c) => (seen.push(r), handle(r, c)) },
  });
  t.after(() => s.close());
  return { s, seen, url: new URL(s.url), loadedFor: () => loadedFor };
}

const ok = () => ({ status: 200, contentType: 'text/plain', body: Buffer.from('answer') });

test('late content is made from the URL and served once; the download does not end a share that has a handler', async (t) => {
  const { s, url, loadedFor } = await serve(t, ok);
  assert.equal(loadedFor(), s.url);
  const first = await fetchRaw(url, url.pathname);
  assert.equal(first?.status, 200);
  assert.equal(first?.body.toString(), `profile for ${s.url}`);
  assert.equal(first?.headers['content-type'], 'application/x-apple-aspen-config');
  assert.equal((await fetchRaw(url, url.pathname))?.status, 404);
  assert.equal((await fetchRaw(url, `${url.pathname}/scep?operation=GetCACaps`))?.status, 200, 'still serving');
});

test('the handler gets /<token>/scep with its query and body, by GET and POST only; next to it is 404', async (t) => {
  const { url, seen } = await serve(t, ok);
  assert.equal((await fetchRaw(url, `${url.pathname}/scep?operation=X&message=a%2Bb`))?.status, 200);
  assert.equal((await fetchRaw(url, `${url.pathname}/scep`, 'POST', Buffer.from('body bytes')))?.status, 200);
  assert.equal(seen[0]!.method, 'GET');
  assert.equal(seen[0]!.query.get('message'), 'a+b');
  assert.equal(seen[1]!.body.toString(), 'body bytes');
  for (const path of [`${url.pathname}/scepx`, `${url.pathname}/scep/`, `${url.pathname}/Scep`, `${url.pathname.slice(0, -1)}A/scep`, '/scep']) {
    assert.equal((await fetchRaw(url, path))?.status, 404, path);
  }
  assert.equal((await fetchRaw(url, `${url.pathname}/scep`, 'PUT'))?.status, 405);
  assert.equal(seen.length, 2, 'nothing else reached the handler');
});

test('a body over the bound is 413 and never reaches the handler', async (t) => {
  const { url, seen } = await serve(t, ok, 100);
  const big = await fetchRaw(url, `${url.pathname}/scep`, 'POST', Buffer.alloc(101));
  assert.ok(big === null || big.status === 413, String(big?.status));
  assert.equal((await fetchRaw(url, `${url.pathname}/scep`, 'POST', Buffer.alloc(100)))?.status, 200);
  assert.equal(seen.length, 1);
});

test('finish() ends the share with success; a throwing handler is 500 and the share goes on (no request ends it)', async (t) => {
  const a = await serve(t, (_r, control) => ({ ...ok(), onSent: () => control.finish() }));
  await fetchRaw(a.url, `${a.url.pathname}/scep`);
  assert.deepEqual(await a.s.done, { downloads: 0 });

  let calls = 0;
  const b = await serve(t, () => {
    calls += 1;
    if (calls === 1) throw new OperationFailedError('the database is gone');
    if (calls === 2) throw new RangeError('Maximum call stack size exceeded');
    return ok();
  });
  let settled = false;
  b.s.done.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (const _ of [1, 2]) {
    const r = await fetchRaw(b.url, `${b.url.pathname}/scep`);
    assert.equal(r?.status, 500);
    assert.ok(!/database|stack/.test(r!.body.toString()), 'nothing of the error goes to the client');
  }
  assert.equal((await fetchRaw(b.url, `${b.url.pathname}/scep`))?.status, 200, 'still serving');
  assert.equal(settled, false, 'the share did not end');
  assert.equal(b.seen[2]!.remoteAddress, '127.0.0.1', "the handler sees the client's address");
});
