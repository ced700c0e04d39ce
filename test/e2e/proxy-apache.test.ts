/**
 * `pocketca proxy apache` in a real apache2 (mod_ssl, mod_proxy_http,
 * mod_headers, mod_lua) on 127.0.0.1, with the scenarios of issue 4.
 * Run: npx tsc -p . && node --test dist/test/e2e/proxy-apache.test.js
 */
import { test } from 'node:test';
import { APACHE, certificateOnly, expiredCrl, opensslCrlScenario, websocketTokenScenario } from '../helpers/proxy-scenarios';

test('apache: a certificate of this CA reaches the upstream with its identity; none, foreign, revoked (after publish + apachectl restart) are refused', (t) =>
  certificateOnly(t, APACHE));

test('apache --websocket-token: the cookie lets a certificate-less WebSocket upgrade through, and nothing else', (t) => websocketTokenScenario(t, APACHE));

test('apache --websocket-token: a device in a CRL made by openssl (300 entries) loses its cookie', (t) => opensslCrlScenario(t, APACHE));

test('apache: an expired CRL refuses every client, and doctor exits 1 for it', (t) => expiredCrl(t, APACHE));
