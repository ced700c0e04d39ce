/**
 * `pocketca proxy` without a server: what it writes and with which modes,
 * where the WebSocket secret goes (and where it must not), and every
 * bad-usage path (exit 2 with the words that say why). The configs
 * themselves are proven in the servers by proxy-{nginx,apache,mosquitto}.test.ts.
 * Run: npx tsc -p . && node --test dist/test/e2e/proxy-cli.test.js
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { hkdfSync } from 'node:crypto';
import Database from 'better-sqlite3';
import { loadMigrations } from '../../src/store/database';
import { join } from 'node:path';
import { createTestCa, openssl, pocketca, PASSPHRASE, type TestCa } from '../helpers/cli';
import { downgradeDatabase } from '../helpers/guarantees';
import { issueClient } from '../helpers/proxy-fixture';
import { opensslCa } from '../helpers/online-ca';

function caWithServer(t: import('node:test').TestContext): TestCa {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'cloud', '--profile', 'server', '--dns', 'cloud.home.arpa', '--ip', '192.168.1.10']);
  return ca;
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
const server = (ca: TestCa) => ['--cert', join(ca.out, 'cloud.pem'), '--key', join(ca.out, 'cloud.key.pem')];
const UPSTREAM = ['--upstream', 'http://127.0.0.1:8123'];
/** `proxy` unlocks the CA key only for --websocket-token, so the test helper does not pass the passphrase by itself. */
const pass = (ca: TestCa) => ['--passphrase-file', ca.passFile];

test('proxy nginx without --out-dir prints the server block for the default install dir, named after the certificate', (t) => {
  const ca = caWithServer(t);
  const r = ca.ok(['proxy', 'nginx', ...UPSTREAM, ...server(ca)]);
  assert.match(r.stdout, /^# nginx: mutual TLS for cloud\.home\.arpa/);
  assert.match(r.stdout, /^\s+listen 443 ssl;$/m);
  assert.match(r.stdout, /^\s+server_name cloud\.home\.arpa;$/m);
  assert.match(r.stdout, /^\s+ssl_client_certificate \/etc\/pocketca\/bundle\.pem;$/m);
  assert.match(r.stdout, /^\s+ssl_crl\s+\/etc\/pocketca\/crl\.pem;$/m);
  assert.match(r.stdout, /^\s+ssl_verify_client\s+on;$/m);
  assert.match(r.stdout, /^\s+ssl_certificate\s+\/etc\/pocketca\/cloud\.home\.arpa\.pem;$/m);
  assert.match(r.stdout, /nginx -s reload/);
  assert.match(r.stderr, /expects bundle\.pem, crl\.pem and the certificate and key in \/etc\/pocketca/);

  const json = JSON.parse(ca.ok(['proxy', 'apache', ...UPSTREAM, ...server(ca), '--json']).stdout);
  assert.equal(json.serverName, 'cloud.home.arpa');
  assert.equal(json.listen, '443');
  assert.doesNotMatch(json.config, /^Listen/m, 'port 443 needs no Listen: Debian ports.conf has it');
  assert.match(json.config, /<VirtualHost \*:443>/);
  assert.match(json.config, /SSLCARevocationCheck chain/);
  assert.match(json.config, /a2enmod ssl proxy proxy_http headers/);
});

test('proxy --out-dir writes every file, private ones 0600; the WebSocket secret is only in the 0600 file and made once', (t) => {
  const ca = caWithServer(t);
  const nginxDir = join(ca.dir, 'nginx');
  const first = JSON.parse(ca.ok(['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--websocket-token', ...pass(ca), '--out-dir', nginxDir, '--json']).stdout);
  assert.deepEqual(readdirSync(nginxDir).sort(), ['bundle.pem', 'cloud.home.arpa.key.pem', 'cloud.home.arpa.pem', 'crl.pem', 'nginx-cloud.home.arpa-websocket-token.js', 'nginx-cloud.home.arpa.conf']);
  assert.equal(first.websocketToken.secret, 'created');
  assert.equal(first.config, undefined, 'the config is not echoed when it was written');
  assert.equal(mode(first.files.key), '600');
  assert.equal(mode(first.files.script), '600');
  assert.equal(mode(first.files.config), '644');
  assert.equal(mode(first.files.bundle), '644');
  assert.equal(readFileSync(first.files.crl, 'utf8'), readFileSync(join(ca.home, 'crl.pem'), 'utf8'));
  assert.equal(readFileSync(first.files.bundle, 'utf8'), readFileSync(join(ca.home, 'bundle.pem'), 'utf8'));
  const secret = /var SECRET = "([0-9a-f]{64})";/.exec(readFileSync(first.files.script, 'utf8'))![1]!;
  assert.doesNotMatch(readFileSync(first.files.config, 'utf8'), new RegExp(secret));

  const apacheDir = join(ca.dir, 'apache');
  const apache = ca.ok(['proxy', 'apache', ...UPSTREAM, ...server(ca), '--websocket-token', ...pass(ca), '--out-dir', apacheDir, '--listen', '8443']);
  const files = readdirSync(apacheDir);
  assert.ok(files.includes('apache-cloud.home.arpa-websocket-token.lua'));
  const conf = readFileSync(join(apacheDir, 'apache-cloud.home.arpa.conf'), 'utf8');
  assert.equal(mode(join(apacheDir, 'apache-cloud.home.arpa.conf')), '600');
  assert.equal(mode(join(apacheDir, 'apache-cloud.home.arpa-websocket-token.lua')), '644', "Apache's children read it as www-data");
  assert.match(conf, new RegExp(`Require pocketca_ws_cloud_home_arpa_8443 ${secret}`), 'one key per home and server name, kept between runs');
  assert.match(conf, /^Listen 8443 https$/m);
  assert.doesNotMatch(readFileSync(join(apacheDir, 'apache-cloud.home.arpa-websocket-token.lua'), 'utf8'), new RegExp(secret));
  assert.doesNotMatch(apache.stdout + apache.stderr, new RegExp(secret), 'never printed');

  const rotated = JSON.parse(ca.ok(['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--websocket-token', ...pass(ca), '--rotate-secret', '--out-dir', nginxDir, '--json']).stdout);
  assert.equal(rotated.websocketToken.secret, 'rotated');
  assert.doesNotMatch(readFileSync(rotated.files.script, 'utf8'), new RegExp(secret));
  assert.match(readFileSync(rotated.files.script, 'utf8'), /var TTL = 43200;/);
  const short = JSON.parse(ca.ok(['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--websocket-token', ...pass(ca), '--websocket-token-ttl', '30m', '--out-dir', nginxDir, '--json']).stdout);
  assert.equal(short.websocketToken.ttlSeconds, 1800);
  assert.match(readFileSync(short.files.script, 'utf8'), /var TTL = 1800;/);
});

test('proxy: bad usage is exit 2 with the reason', (t) => {
  const ca = caWithServer(t);
  const client = issueClient(ca, 'printer');
  const other = createTestCa();
  t.after(() => other.cleanup());
  other.ok(['issue', 'elsewhere', '--profile', 'server', '--dns', 'x.example']);
  const out = ['--out-dir', join(ca.dir, 'o')];
  const cases: [string[], RegExp][] = [
    [['proxy', 'nginx', ...server(ca)], /error: --upstream is required/],
    [['proxy', 'nginx', ...UPSTREAM], /error: --cert is required\nhint: .*pocketca issue proxy --profile server/],
    [['proxy', 'haproxy', ...UPSTREAM, ...server(ca)], /<server> must be one of: nginx, apache, mosquitto/],
    [['proxy', 'nginx', ...UPSTREAM, '--cert', join(ca.out, 'cloud.pem'), '--key', join(other.out, 'elsewhere.key.pem')], /is not the key of --cert/],
    [['proxy', 'nginx', ...UPSTREAM, '--cert', join(ca.out, 'missing.pem'), '--key', join(ca.out, 'cloud.key.pem')], /error: cannot read --cert .*missing\.pem: no such file/],
    [['proxy', 'nginx', ...UPSTREAM, '--cert', join(ca.home, 'crl.pem'), '--key', join(ca.out, 'cloud.key.pem')], /holds no PEM certificate/],
    [['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--websocket-token'], /error: --websocket-token needs --out-dir/],
    [['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--rotate-secret', ...out], /--rotate-secret goes with --websocket-token/],
    [['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--websocket-token', '--websocket-token-ttl', '10s', ...out], /--websocket-token-ttl must be from 1m to 24h/],
    [['proxy', 'mosquitto', ...server(ca), '--websocket-token', ...out], /--websocket-token is for nginx and apache/],
    [['proxy', 'mosquitto', ...UPSTREAM, ...server(ca)], /takes no --upstream/],
    [['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--listen', '0.0.0.0:99999'], /--listen "0.0.0.0:99999" is not PORT or ADDRESS:PORT/],
    [['proxy', 'nginx', '--upstream', 'ftp://x', ...server(ca)], /must be an http:\/\/ or https:\/\/ URL/],
    [['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--install-dir', '/etc/pocket ca;'], /--install-dir .* must be an absolute path/],
    [['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--server-name', 'evil; include /etc/passwd'], /--server-name .* is not a host name/],
    [['proxy', 'apache', '--inject-cert', client.cert, '--inject-key', client.key, '--upstream', 'https://x'], /for `proxy nginx` only/],
    [['proxy', 'nginx', '--inject-cert', client.cert, '--inject-key', client.key, ...UPSTREAM], /--upstream must be https:\/\/ for --inject-cert/],
    [['proxy', 'nginx', '--inject-cert', client.cert, '--upstream', 'https://x'], /error: --inject-key is required/],
    [['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--websocket-path', '/ws', ...out], /--websocket-path goes with --websocket-token/],
    [['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--websocket-token', '--websocket-path', 'api/ws', ...out], /--websocket-path "api\/ws" is not an absolute path/],
    [['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--websocket-token', '--websocket-path', '/a/../b', ...out], /--websocket-path "\/a\/\.\.\/b"/],
    [['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--websocket-token', '--websocket-path', '/a";x', ...out], /is not an absolute path/],
  ];
  for (const [args, expected] of cases) {
    const r = ca.run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, expected, args.join(' '));
  }
});

test('proxy nginx --inject-cert: listens on loopback by default, verifies the upstream by name, warns about a foreign identity', (t) => {
  const ca = caWithServer(t);
  const client = issueClient(ca, 'printer');
  const r = ca.ok(['proxy', 'nginx', '--inject-cert', client.cert, '--inject-key', client.key, '--upstream', 'https://cloud.home.arpa:8443/app']);
  assert.match(r.stdout, /^\s+listen 127\.0\.0\.1:8080;$/m);
  assert.match(r.stdout, /^\s+proxy_pass https:\/\/cloud\.home\.arpa:8443\/app\/;$/m);
  assert.match(r.stdout, /^\s+proxy_ssl_verify\s+on;$/m);
  assert.match(r.stdout, /^\s+proxy_ssl_name\s+cloud\.home\.arpa;$/m);
  assert.match(r.stdout, /^\s+proxy_set_header Host cloud\.home\.arpa:8443;$/m);
  assert.match(r.stdout, /^\s+proxy_ssl_certificate\s+\/etc\/pocketca\/inject-cloud\.home\.arpa\.pem;$/m);
  assert.doesNotMatch(r.stderr, /warning/);

  const other = createTestCa();
  t.after(() => other.cleanup());
  const foreign = issueClient(other, 'foreign');
  const w = ca.ok(['proxy', 'nginx', '--inject-cert', foreign.cert, '--inject-key', foreign.key, '--upstream', 'https://cloud.home.arpa', '--listen', '0.0.0.0:8080']);
  assert.match(w.stderr, /warning: .*foreign\.pem was not issued by this CA/);
  assert.match(w.stderr, /warning: --listen 0\.0\.0\.0:8080 is not a loopback address/);
});

test('proxy --websocket-token: the key is derived from the CA key (HKDF), per server name; nothing usable is stored; no passphrase is exit 2', (t) => {
  const ca = caWithServer(t);
  const dir = join(ca.dir, 'o');
  const args = ['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--websocket-token', '--out-dir', dir, '--home', ca.home];
  // No passphrase and no TTY: exit 2 with the usual hint, nothing written, nothing recorded.
  const none = pocketca(args);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /--passphrase-file|POCKETCA_PASSPHRASE/);
  assert.equal(existsSync(dir), false);
  const wrong = pocketca(args, { env: { POCKETCA_PASSPHRASE: 'not the passphrase' } });
  assert.equal(wrong.code, 1, wrong.stderr);
  assert.match(wrong.stderr, /error: wrong CA passphrase/);
  const db = () => new Database(join(ca.home, 'pocketca.db'), { readonly: true });
  const settings = () => {
    const d = db();
    try {
      return Object.fromEntries((d.prepare('SELECT key, value FROM settings').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
    } finally {
      d.close();
    }
  };
  assert.equal(settings().websocket_token_salt, undefined, 'a wrong passphrase changes nothing');

  const ok = pocketca(args, { env: { POCKETCA_PASSPHRASE: PASSPHRASE } });
  assert.equal(ok.code, 0, ok.stderr);
  const key = /var SECRET = "([0-9a-f]{64})";/.exec(readFileSync(join(dir, 'nginx-cloud.home.arpa-websocket-token.js'), 'utf8'))![1]!;
  // Independently: openssl decrypts the CA key; HKDF-SHA256 (RFC 5869) over its PKCS#8 DER with the home's salt and the server name.
  const caPem = openssl(['pkey', '-in', join(ca.home, 'ca.key.pem'), '-passin', `file:${ca.passFile}`]);
  assert.equal(caPem.code, 0, caPem.stderr);
  const caDer = Buffer.from(caPem.stdout.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  const salt = Buffer.from(settings().websocket_token_salt!, 'hex');
  assert.equal(salt.length, 32);
  const derive = (name: string) => Buffer.from(hkdfSync('sha256', caDer, salt, `pocketca websocket token v2|${name}`, 32)).toString('hex');
  assert.equal(key, derive('cloud.home.arpa'));
  // The key is nowhere in the home (database, -wal included), and no setting holds a key.
  for (const f of readdirSync(ca.home)) assert.equal(readFileSync(join(ca.home, f)).includes(key), false, `${f} holds the key`);
  assert.deepEqual(Object.keys(settings()).filter((k) => k.startsWith('websocket')), ['websocket_token_salt']);

  // Another server name, same home: another key, which no other config holds.
  const other = JSON.parse(ca.ok([...args.slice(0, -4), '--server-name', 'music.home.arpa', '--out-dir', join(ca.dir, 'o2'), ...pass(ca), '--json']).stdout);
  const otherKey = /var SECRET = "([0-9a-f]{64})";/.exec(readFileSync(other.files.script, 'utf8'))![1]!;
  assert.equal(otherKey, derive('music.home.arpa'));
  assert.notEqual(otherKey, key);
});

test('migration 003 forgets the plain-text token secret of an older home', (t) => {
  const ca = caWithServer(t);
  const path = join(ca.home, 'pocketca.db');
  // A home as pocketca 2 made it: a newer schema that says version 2 is not migrated (it is refused as not pocketca's).
  downgradeDatabase(ca.home, 2);
  const d = new Database(path);
  d.prepare("INSERT INTO settings (key, value) VALUES ('websocket_token_secret', ?)").run('ab'.repeat(32));
  d.close();
  ca.ok(['list']);
  const after = new Database(path, { readonly: true });
  t.after(() => after.close());
  assert.equal((after.prepare("SELECT count(*) AS n FROM settings WHERE key = 'websocket_token_secret'").get() as { n: number }).n, 0);
  assert.equal(after.pragma('user_version', { simple: true }), loadMigrations().length, 'migrated to the latest');
});

test('proxy --cert must be a server certificate: a client one is exit 2 with the issue hint; openssl agrees on each', (t) => {
  const ca = caWithServer(t);
  const client = issueClient(ca, 'sensor-1');
  const selfSigned = (name: string, eku?: string) => {
    const cert = join(ca.dir, `${name}.pem`);
    const key = join(ca.dir, `${name}.key.pem`);
    const made = openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', `/CN=${name}.home.arpa`,
      '-addext', `subjectAltName=DNS:${name}.home.arpa`, ...(eku ? ['-addext', `extendedKeyUsage=${eku}`] : [])]);
    assert.equal(made.code, 0, made.stderr);
    return { cert, key, ca: cert };
  };
  const cases = [
    { what: 'a pocketca client certificate', cert: client.cert, key: client.key, ca: join(ca.home, 'ca.pem'), server: false },
    { what: 'a pocketca server certificate', cert: join(ca.out, 'cloud.pem'), key: join(ca.out, 'cloud.key.pem'), ca: join(ca.home, 'ca.pem'), server: true },
    { what: 'EKU clientAuth only', ...selfSigned('client-only', 'clientAuth'), server: false },
    { what: 'EKU serverAuth and clientAuth', ...selfSigned('both', 'serverAuth,clientAuth'), server: true },
    { what: 'no EKU extension (any use, RFC 5280)', ...selfSigned('no-eku'), server: true },
  ];
  for (const [i, c] of cases.entries()) {
    // The independent view: would a TLS client accept it for a server?
    const verify = openssl(['verify', '-purpose', 'sslserver', '-CAfile', c.ca, c.cert]);
    assert.equal(verify.code === 0, c.server, `${c.what}: openssl -purpose sslserver: ${verify.stdout}${verify.stderr}`);
    for (const kind of ['nginx', 'mosquitto']) {
      const r = ca.run(['proxy', kind, ...(kind === 'nginx' ? UPSTREAM : []), '--cert', c.cert, '--key', c.key, '--out-dir', join(ca.dir, `out-${kind}-${i}`)]);
      if (c.server) {
        assert.equal(r.code, 0, `${c.what} (${kind}): ${r.stderr}`);
      } else {
        assert.equal(r.code, 2, `${c.what} (${kind}): ${r.stderr}`);
        assert.match(r.stderr, /^error: --cert .* is not a server certificate \(extended key usage: clientAuth\)/m);
        assert.match(r.stderr, /^hint: .*pocketca issue NAME --profile server --dns /m);
        assert.equal(r.stdout, '');
      }
    }
  }
});

test('revoking an intermediate rotates the WebSocket token key and says to publish a new config: a cookie names only its device, which no CRL lists (redteam finding)', (t) => {
  const ca = caWithServer(t);
  const online = opensslCa(ca.dir);
  ca.ok(['sign', online.csr, '--profile', 'intermediate', '--name', 'issuing']);
  const dir = join(ca.dir, 'nginx');
  const script = () => JSON.parse(ca.ok(['proxy', 'nginx', ...UPSTREAM, ...server(ca), '--websocket-token', ...pass(ca), '--out-dir', dir, '--force', '--json']).stdout).files.script as string;
  const keyOf = (path: string) => /var SECRET = "([0-9a-f]{64})";/.exec(readFileSync(path, 'utf8'))![1]!;
  const before = keyOf(script());
  assert.equal(keyOf(script()), before, 'kept between runs');

  // A device revoked: the key stays (its serial is on the CRL the token check reads).
  issueClient(ca, 'phone');
  const device = ca.ok(['revoke', 'phone']);
  assert.doesNotMatch(device.stderr, /token key is rotated/);
  assert.equal(keyOf(script()), before);

  const r = ca.ok(['revoke', 'issuing', '--json']);
  assert.equal(JSON.parse(r.stdout).websocketKeyRotated, true);
  assert.match(r.stderr, /an intermediate was revoked: WebSocket cookies of the devices under it stay valid/);
  assert.match(r.stderr, /re-run `pocketca proxy \.\.\. --websocket-token --out-dir DIR`/);
  assert.notEqual(keyOf(script()), before, 'a new config carries a new key, so every earlier cookie is refused');
});
