/**
 * `pocketca proxy mosquitto` in a real mosquitto on 127.0.0.1, with
 * mosquitto_pub/mosquitto_sub as clients: a certificate of this CA connects
 * and its CN is the MQTT username; none, foreign and revoked (after publish
 * and SIGHUP, what `systemctl reload mosquitto` sends) are refused.
 * Run: npx tsc -p . && node --test dist/test/e2e/proxy-mosquitto.test.js
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { proxyFixture, type Client } from '../helpers/proxy-fixture';
import { freePort, requireServer, runCommand, startMosquitto, waitFor } from '../helpers/servers';

test('mosquitto: a certificate of this CA connects as its CN; none, foreign and revoked (after publish + reload) are refused', async (t) => {
  const mosquitto = requireServer(t, 'mosquitto');
  if (!mosquitto) return;
  const f = proxyFixture(t, ['alice', 'bob', 'carol']);
  const { alice, bob, carol } = f.clients as Record<string, Client>;
  const port = await freePort();
  const dir = join(f.ca.dir, 'to-broker');
  const publish = () =>
    f.ca.ok(['proxy', 'mosquitto', '--cert', f.server.cert, '--key', f.server.key, '--listen', `127.0.0.1:${port}`, '--out-dir', dir, '--install-dir', dir]);
  publish();
  const broker = await startMosquitto(t, mosquitto, f.ca.dir, join(dir, 'mosquitto-localhost.conf'), port);
  const log = () => readFileSync(broker.log, 'utf8');
  const tls = (c?: Client) => ['-h', 'localhost', '-p', String(port), '--cafile', f.caPem, ...(c ? ['--cert', c.cert, '--key', c.key] : [])];
  const pub = (c: Client | undefined, topic: string) => runCommand('mosquitto_pub', [...tls(c), '-t', topic, '-m', 'hello']);

  // alice subscribes, bob publishes: the message goes through, and the broker knows each by their CN.
  const sub = runCommand('mosquitto_sub', [...tls(alice), '-t', 'home/#', '-C', '1', '-W', '15', '-v']);
  await waitFor(async () => log().includes("u'alice'"), 'alice to connect as username alice', log);
  const sent = await pub(bob, 'home/door');
  assert.equal(sent.code, 0, sent.stderr);
  const received = await sub;
  assert.equal(received.code, 0, received.stderr);
  assert.equal(received.stdout, 'home/door hello\n');
  assert.match(log(), /u'bob'/);

  for (const [who, client] of [['no certificate', undefined], ['a certificate of another CA', f.stranger]] as const) {
    const r = await pub(client, 'home/intruder');
    assert.notEqual(r.code, 0, `${who} must be refused`);
  }
  assert.doesNotMatch(log(), /u'stranger'/);

  // Revoke a working device, publish again, reload: refused.
  assert.equal((await pub(carol, 'home/carol')).code, 0);
  f.ca.ok(['revoke', 'carol']);
  publish();
  await broker.reload();
  // mosquitto is one thread: once it has logged the reload, the next connection meets the new CRL.
  await waitFor(async () => log().includes('Reloading config'), 'mosquitto to reload', log);
  const revoked = await pub(carol, 'home/carol-revoked');
  assert.notEqual(revoked.code, 0, 'carol must be refused after revoke and reload');
  assert.equal((await pub(alice, 'home/alice-after')).code, 0, 'alice still connects');
});
