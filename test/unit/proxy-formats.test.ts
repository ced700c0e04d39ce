/**
 * The pure parts of `proxy` and `doctor`: listen and upstream parsing, what
 * each generated file says at its top and which directives depend on which
 * option, and reading a CRL's dates back. Fixed inputs, no servers (those are
 * in test/e2e/proxy-*.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../src/errors';
import { assembleSigned } from '../../src/formats/x509';
import { encodeTbsCrl, reasonOfCode, REASON_CODES, USER_REASONS } from '../../src/formats/crl';
import { CrlFormatError, readCrl, revokedEntries } from '../../src/formats/crl-reader';
import { apacheVhostConfig, apacheWebsocketTokenScript } from '../../src/formats/proxy-apache';
import { mosquittoListenerConfig } from '../../src/formats/proxy-mosquitto';
import { localGroupId } from '../../src/host/group-readable';
import { nginxServerConfig, nginxWebsocketTokenScript } from '../../src/formats/proxy-nginx';
import { parseListen, parseUpstream, parseWebsocketPath, type ProxyFiles } from '../../src/formats/proxy-params';

const FILES: ProxyFiles = { bundle: '/etc/pocketca/bundle.pem', crl: '/etc/pocketca/crl.pem', cert: '/etc/pocketca/c.pem', key: '/etc/pocketca/c.key.pem' };
const NEXT = '2027-01-01T00:00:00.000Z';

test('parseListen: a port, an address and a port, IPv6 in brackets; anything else is bad usage', () => {
  assert.deepEqual(parseListen('443'), { port: 443 });
  assert.deepEqual(parseListen('127.0.0.1:8443'), { host: '127.0.0.1', port: 8443 });
  assert.deepEqual(parseListen('[::1]:8443'), { host: '[::1]', port: 8443 });
  for (const bad of ['', '0', '65536', 'localhost', '1.2.3.4:', ':443', '1.2.3.4:80; include x', '::1:443']) {
    assert.throws(() => parseListen(bad), UsageError, bad);
  }
});

test('parseUpstream: the origin, a path always ending in /, the default ports; no credentials, query or other scheme', () => {
  assert.deepEqual(parseUpstream('http://127.0.0.1:8123'), { scheme: 'http', host: '127.0.0.1', hostname: '127.0.0.1', port: 8123, origin: 'http://127.0.0.1:8123', path: '/' });
  const u = parseUpstream('https://[::1]/app');
  assert.equal(u.origin, 'https://[::1]:443');
  assert.equal(u.hostname, '::1');
  assert.equal(u.path, '/app/');
  for (const bad of ['127.0.0.1:8123', 'ftp://x', 'http://u:p@x', 'http://x/?a=1', 'http://x/#f']) assert.throws(() => parseUpstream(bad), UsageError, bad);
});

test('nginx: certificate required without the token, optional with it and the js module named; the header says what it needs', () => {
  const base = { serverName: 'cloud.home.arpa', listen: { port: 443 }, upstream: parseUpstream('http://127.0.0.1:8123'), files: FILES, crlNextUpdate: NEXT };
  const plain = nginxServerConfig(base);
  assert.match(plain, /ssl_verify_client\s+on;/);
  assert.match(plain, /proxy_pass http:\/\/127\.0\.0\.1:8123;/, 'no URI part: nginx passes the request URI unchanged');
  assert.match(plain, /map \$http_upgrade \$pocketca_connection_cloud_home_arpa_443 \{/);
  assert.match(plain, /This CRL expires 2027-01-01T00:00:00\.000Z/);
  assert.doesNotMatch(plain, /js_import|libnginx-mod-http-js/);
  const token = nginxServerConfig({ ...base, websocketTokenScript: '/etc/pocketca/t.js' });
  assert.match(token, /ssl_verify_client\s+optional;/);
  assert.match(token, /libnginx-mod-http-js/);
  assert.match(token, /js_import pocketca_ws_cloud_home_arpa_443 from \/etc\/pocketca\/t\.js;/);
  assert.match(token, /if \(\$pocketca_ws_verify_cloud_home_arpa_443 = ""\) \{ return 403; \}/);
});

test('the token scripts: the key only in the njs module; server name, paths, lifetime and the CRL to read in both', () => {
  const params = { serverName: 'cloud.home.arpa', ttlSeconds: 600, paths: ['/api/websocket', '/ws/'], crlFile: '/etc/pocketca/crl.pem' };
  const js = nginxWebsocketTokenScript({ ...params, secret: 'ab'.repeat(32) });
  assert.match(js, /var SECRET = "(ab){32}";/);
  assert.match(js, /var SERVER_NAME = "cloud\.home\.arpa";/);
  assert.match(js, /var TTL = 600;/);
  assert.match(js, /var PATHS = \["\/api\/websocket","\/ws\/"\];/);
  assert.match(js, /var CRL_FILE = "\/etc\/pocketca\/crl\.pem";/);
  assert.match(js, /'pocketca-ws-v2' \+ '\|' \+ SERVER_NAME|"pocketca-ws-v2" \+ '\|' \+ SERVER_NAME/);
  assert.match(js, /SameSite=Strict/);
  const lua = apacheWebsocketTokenScript(params);
  assert.match(lua, /local TTL = 600/);
  assert.match(lua, /local SERVER_NAME = "cloud\.home\.arpa"/);
  assert.match(lua, /local PATHS = \{\n {2}"\/api\/websocket",\n {2}"\/ws\/",\n\}/);
  assert.match(lua, /local CRL_FILE = "\/etc\/pocketca\/crl\.pem"/);
  assert.doesNotMatch(lua, /abab/);
});

test('parseWebsocketPath: absolute paths of safe characters; no dot segments, empty segments or quoting', () => {
  for (const good of ['/', '/api/websocket', '/ws/', '/a.b/c-d_e~f@g+h']) assert.equal(parseWebsocketPath(good), good);
  for (const bad of ['', 'api/websocket', '/a b', '/a"b', '/a;b', '/a/../b', '/a/./b', '/a//b', '/..', '/a/..', '/%2e%2e', '/a\\b']) {
    assert.throws(() => parseWebsocketPath(bad), UsageError, bad);
  }
});

test('nginx: Host as the client sent it, port included, with a fallback; the token cookie is kept from the upstream', () => {
  const base = { serverName: 'cloud.home.arpa', upstream: parseUpstream('http://127.0.0.1:8123'), files: FILES, crlNextUpdate: NEXT };
  const conf = nginxServerConfig({ ...base, listen: { port: 8443 }, websocketTokenScript: '/etc/pocketca/t.js' });
  assert.match(conf, /map \$http_host \$pocketca_host_cloud_home_arpa_8443 \{\n {4}default \$http_host;\n {4}'' {6}\$host:\$server_port;\n\}/);
  assert.match(conf, /proxy_set_header Host \$pocketca_host_cloud_home_arpa_8443;/);
  assert.match(conf, /js_set \$pocketca_ws_cookies_cloud_home_arpa_8443 pocketca_ws_cloud_home_arpa_8443\.cookies;/);
  assert.match(conf, /proxy_set_header Cookie \$pocketca_ws_cookies_cloud_home_arpa_8443;/);
  assert.match(conf, /worker_shutdown_timeout 10s;/);
  assert.match(nginxServerConfig({ ...base, listen: { port: 443 } }), /'' {6}\$host;/);
  assert.doesNotMatch(nginxServerConfig({ ...base, listen: { port: 443 } }), /proxy_set_header Cookie/);
});

test('apache: Listen only for a port other than 443; the Require line carries the key; identity headers from mod_ssl or the token', () => {
  const base = { serverName: 'cloud.home.arpa', upstream: parseUpstream('https://10.0.0.2:8443'), files: FILES, crlNextUpdate: NEXT };
  const plain = apacheVhostConfig({ ...base, listen: { port: 443 } });
  assert.doesNotMatch(plain, /^Listen/m);
  assert.match(plain, /<VirtualHost \*:443>/);
  assert.match(plain, /SSLVerifyClient\s+require/);
  assert.match(plain, /SSLProxyEngine on/, 'an https upstream needs it');
  assert.match(plain, /RequestHeader set X-SSL-Client-Serial "%\{SSL_CLIENT_M_SERIAL\}s"/);
  assert.match(plain, /RequestHeader unset X_SSL_Client_Serial/);
  const token = apacheVhostConfig({ ...base, listen: { host: '127.0.0.1', port: 8443 }, websocketToken: { script: '/etc/pocketca/t.lua', secret: 'cd'.repeat(32) } });
  assert.match(token, /^Listen 127\.0\.0\.1:8443 https$/m);
  assert.match(token, /^LuaAuthzProvider pocketca_ws_cloud_home_arpa_8443 \/etc\/pocketca\/t\.lua authorize$/m);
  assert.match(token, /Require pocketca_ws_cloud_home_arpa_8443 (cd){32}/);
  assert.match(token, /SSLVerifyClient\s+optional/);
  assert.match(token, /RequestHeader set X-SSL-Client-Serial "%\{POCKETCA_CLIENT_SERIAL\}e" env=POCKETCA_CLIENT_SERIAL/);
  assert.match(token, /a2enmod ssl proxy proxy_http headers lua/);
  assert.match(token, /RequestHeader edit\* Cookie /);
  assert.match(token, /apachectl restart/);
  assert.doesNotMatch(plain, /RequestHeader edit\* Cookie/);
});

test('nginx and apache: the comment above client verification says what the depth admits (issue 17)', () => {
  const base = { serverName: 'cloud.home.arpa', listen: { port: 443 }, upstream: parseUpstream('http://127.0.0.1:8123'), files: FILES, crlNextUpdate: NEXT };
  const configs = (verifyDepth?: number) => [
    { conf: nginxServerConfig({ ...base, verifyDepth }), depth: /^ {4}ssl_verify_depth\s+(\d);$/m },
    { conf: apacheVhostConfig({ ...base, verifyDepth }), depth: /^ {4}SSLVerifyDepth\s+(\d)$/m },
  ];
  for (const { conf, depth } of configs()) {
    assert.equal(depth.exec(conf)?.[1], '1');
    assert.match(conf, /# A client certificate from this CA, not revoked, directly under the root\./);
  }
  for (const { conf, depth } of configs(2)) {
    assert.equal(depth.exec(conf)?.[1], '2');
    assert.doesNotMatch(conf, /directly under the root/);
    assert.match(conf, /# A client certificate from this CA, not revoked: signed by the root or by an intermediate\n\s*# the root signed \(root -> intermediate -> leaf\)\. The bundle holds the root and its valid\n/);
    assert.match(conf, /# intermediates, the CRL file a CRL for each; every certificate in the chain is checked\n\s*# against its issuer's CRL\./);
  }
});

test('mosquitto: the listener requires a certificate, checks the CRL and takes the identity as username', () => {
  const conf = mosquittoListenerConfig({ listen: { host: '[::1]', port: 8883 }, files: FILES, crlNextUpdate: NEXT, configFile: 'mosquitto-broker.conf' });
  assert.match(conf, /^listener 8883 ::1$/m);
  for (const line of ['require_certificate true', 'use_identity_as_username true', 'crlfile /etc/pocketca/crl.pem', 'cafile /etc/pocketca/bundle.pem']) {
    assert.match(conf, new RegExp(`^${line.replace(/\./g, '\\.')}$`, 'm'));
  }
});

test('mosquitto: the header says how to install the files for the Debian user mosquitto, the key 0640 group mosquitto', () => {
  const conf = mosquittoListenerConfig({ listen: { port: 8883 }, files: FILES, crlNextUpdate: NEXT, configFile: 'mosquitto-broker.conf' });
  const key = FILES.key.split('/').pop()!;
  assert.match(conf, new RegExp(`^#   install -m 0640 -g mosquitto ${key.replace(/\./g, '\\.')} /etc/pocketca/$`, 'm'));
  assert.match(conf, /^#   install -m 0644 mosquitto-broker\.conf \/etc\/mosquitto\/conf\.d\/$/m);
  assert.match(conf, /^#   install -m 0644 crl\.pem \/etc\/pocketca\/$/m);
  assert.doesNotMatch(conf, new RegExp(`0644 .*${key.replace(/\./g, '\\.')}`), 'the key is never world-readable');
});

test('localGroupId reads /etc/group lines; a missing group or file is undefined', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pocketca-group-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'group');
  writeFileSync(file, 'root:x:0:\nmosquittoes:x:7:\nmosquitto:x:105:alice,bob\n');
  assert.equal(localGroupId('mosquitto', file), 105);
  assert.equal(localGroupId('nobody-here', file), undefined);
  assert.equal(localGroupId('mosquitto', join(dir, 'missing')), undefined);
});

test('readCrl: dates (UTCTime and GeneralizedTime), entries, the signed bytes; garbage is a CrlFormatError', () => {
  const issuerDer = Buffer.from('300f310d300b06035504030c0474657374', 'hex'); // CN=test
  const tbs = encodeTbsCrl({
    issuerDer,
    authorityKeyId: Buffer.alloc(20, 1),
    crlNumber: 7,
    thisUpdate: new Date('2026-11-23T10:00:00Z'),
    nextUpdate: new Date('2051-01-02T03:04:05Z'),
    entries: [{ serial: '4f2a', revokedAt: new Date('2026-11-22T00:00:00Z'), reason: 'keyCompromise' }],
  });
  const der = assembleSigned(tbs, Buffer.alloc(256, 7));
  const crl = readCrl(der);
  assert.equal(crl.thisUpdate.toISOString(), '2026-11-23T10:00:00.000Z');
  assert.equal(crl.nextUpdate!.toISOString(), '2051-01-02T03:04:05.000Z');
  assert.equal(crl.entries, 1);
  assert.ok(crl.tbsDer.equals(tbs));
  assert.ok(crl.issuerDer.equals(issuerDer));
  assert.ok(crl.signature.equals(Buffer.alloc(256, 7)));
  assert.throws(() => readCrl(Buffer.from('3003020101', 'hex')), CrlFormatError);
  assert.throws(() => readCrl(der.subarray(0, der.length - 10)), CrlFormatError);
});

test('revokedEntries (issue 16): the serials, dates and reason codes encodeTbsCrl wrote, one at a time; a malformed entry is a CrlFormatError', () => {
  const issuerDer = Buffer.from('300f310d300b06035504030c0474657374', 'hex'); // CN=test
  const reasons = USER_REASONS;
  // Serials with the top bit set (an INTEGER pad octet), a leading zero octet (dropped, as pocketca stores serials), 20 octets.
  const serials = ['4f2a', 'ff01', '0abc', '00c3', '7f'.repeat(20), ...reasons.map((_, i) => (0x40 + i).toString(16) + '00'.repeat(15))];
  const entries = serials.map((serial, i) => ({ serial, revokedAt: new Date(Date.UTC(2026, 10, 1 + i, 12)), reason: reasons[i % reasons.length]! }));
  const crl = (list: typeof entries) =>
    assembleSigned(encodeTbsCrl({ issuerDer, authorityKeyId: Buffer.alloc(20, 1), crlNumber: 3, thisUpdate: new Date('2026-11-23T10:00:00Z'), nextUpdate: new Date('2027-01-02T03:04:05Z'), entries: list }), Buffer.alloc(256, 7));
  const read = [...revokedEntries(crl(entries))];
  assert.deepEqual(
    read.map((e) => [e.serial, e.revokedAt.toISOString(), e.reasonCode === undefined ? 'unspecified' : reasonOfCode(e.reasonCode), e.unknownCritical]),
    entries.map((e) => [e.serial === '00c3' ? 'c3' : e.serial, e.revokedAt.toISOString(), e.reason, []]),
  );
  // §5.3.1: unspecified is written as no reasonCode at all.
  assert.equal(read.find((e) => e.serial === entries.find((x) => x.reason === 'unspecified')!.serial)!.reasonCode, undefined);
  assert.equal(reasonOfCode(REASON_CODES.cACompromise), 'cACompromise');
  assert.equal(reasonOfCode(REASON_CODES.privilegeWithdrawn), 'privilegeWithdrawn');
  assert.equal(reasonOfCode(6), undefined, 'no certificateHold (6): a revocation is permanent');
  assert.equal(reasonOfCode(8), undefined);
  assert.deepEqual([...revokedEntries(crl([]))], [], 'no list at all');
  // An entry cut short inside the list: refused, not misread.
  const der = crl(entries.slice(0, 1));
  const entryAt = der.indexOf(Buffer.from('024f2a', 'hex')) - 2;
  const broken = Buffer.from(der);
  broken[entryAt + 1] = 0x03; // the entry's SEQUENCE now ends inside its serial
  assert.throws(() => [...revokedEntries(broken)], CrlFormatError);
});
