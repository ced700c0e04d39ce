/**
 * `pocketca proxy mosquitto` in a real mosquitto on 127.0.0.1, started as
 * Debian's service starts it: as root, with `user mosquitto` in its config,
 * so it reads the certificate, key and CRL as user mosquitto at start and on
 * every SIGHUP (what `systemctl reload mosquitto` sends). mosquitto_pub and
 * mosquitto_sub are the clients: a certificate of this CA connects and its CN
 * is the MQTT username; none, foreign and revoked (after the documented
 * re-publish and SIGHUP) are refused, while valid ones still connect.
 * Two ways to deploy: the files installed on the broker with the commands at
 * the top of the generated .conf (docs/server.md shows them), and `--out-dir` on the
 * broker itself, used in place.
 * Run (as root): npx tsc -p . && node --test dist/test/e2e/proxy-mosquitto.test.js
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { BIN, cleanEnv, PASSPHRASE, secretFile, tempDir } from '../helpers/cli';
import { proxyFixture, type Client } from '../helpers/proxy-fixture';
import { freePort, mosquittoUid, requireRootForMosquitto, requireServer, runCommand, startMosquitto, waitFor } from '../helpers/servers';

const DEBIAN_CONF_DIR = '/etc/mosquitto/conf.d/';

/**
 * The install commands at the top of the generated .conf: the full install,
 * and the one after a new CRL (the lines after "That is:").
 */
function headerCommands(conf: string): { install: string[]; afterCrl: string[] } {
  const install: string[] = [];
  const afterCrl: string[] = [];
  let target = install;
  for (const line of conf.split('\n')) {
    if (!line.startsWith('#')) break;
    if (/That is: run the same/.test(line)) target = afterCrl;
    const m = /^# {3}(install .*)$/.exec(line);
    if (m) target.push(m[1]!);
  }
  return { install, afterCrl };
}

/** Run commands as the header says, in the directory `--out-dir` wrote, with the test's conf.d for Debian's. */
function runAsTold(commands: string[], cwd: string, confDir: string): void {
  for (const command of commands) {
    const r = spawnSync('sh', ['-c', command.split(DEBIAN_CONF_DIR).join(`${confDir}/`)], { cwd, encoding: 'utf8' });
    assert.equal(r.status, 0, `${command}\n${r.stderr}`);
  }
}

async function deployAndRevoke(t: TestContext, how: 'installed as the .conf says' | 'written in place on the broker'): Promise<void> {
  const mosquitto = requireServer(t, 'mosquitto');
  if (!mosquitto || !requireRootForMosquitto(t)) return;
  const f = proxyFixture(t, ['alice', 'bob', 'carol']);
  const { alice, bob, carol } = f.clients as Record<string, Client>;
  const port = await freePort();
  // The broker's side, reachable by user mosquitto: /etc/pocketca and /etc/mosquitto/conf.d.
  const broker = tempDir('pocketca-broker-');
  t.after(() => require('node:fs').rmSync(broker, { recursive: true, force: true }));
  chmodSync(broker, 0o755);
  const installDir = join(broker, 'etc-pocketca');
  const confDir = join(broker, 'conf.d');
  mkdirSync(confDir, { mode: 0o755 });
  const inPlace = how === 'written in place on the broker';
  // Copied: written where the CA lives (a 0700 test directory, like the laptop), then installed.
  const outDir = inPlace ? installDir : join(f.ca.dir, 'to-broker');
  const conf = join(outDir, 'mosquitto-localhost.conf');
  const publish = () =>
    f.ca.ok(['proxy', 'mosquitto', '--cert', f.server.cert, '--key', f.server.key, '--listen', `127.0.0.1:${port}`, '--out-dir', outDir, '--install-dir', installDir]);
  publish();
  const commands = headerCommands(readFileSync(conf, 'utf8'));
  if (!inPlace) {
    assert.equal(commands.install.length, 4, `the .conf says how to install every file:\n${readFileSync(conf, 'utf8')}`);
    assert.equal(commands.afterCrl.length, 1, 'and how to publish a new CRL');
    runAsTold(commands.install, outDir, confDir);
  }
  const broker1 = await startMosquitto(t, mosquitto, broker, inPlace ? installDir : confDir, port);
  const log = () => readFileSync(broker1.log, 'utf8');
  const id = (flag: string) => Number(spawnSync('id', [flag, 'mosquitto'], { encoding: 'utf8' }).stdout.trim());
  const pid = readFileSync(join(broker, 'run', 'mosquitto.pid'), 'utf8').trim();
  assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), new RegExp(`^Uid:\\t${id('-u')}\\t`, 'm'), 'the broker runs as user mosquitto');
  const key = statSync(join(installDir, 'localhost.key.pem'));
  assert.deepEqual([(key.mode & 0o777).toString(8), key.gid], ['640', id('-g')], 'the key is 0640 group mosquitto, never world-readable');
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

  // Revoke a working device, publish again as the .conf says, reload: refused; the others still connect.
  assert.equal((await pub(carol, 'home/carol')).code, 0);
  f.ca.ok(['revoke', 'carol']);
  publish();
  if (!inPlace) runAsTold(commands.afterCrl, outDir, confDir);
  await broker1.reload();
  // mosquitto is one thread: once it has logged the reload, the next connection meets the new CRL.
  await waitFor(async () => log().includes('Reloading config'), 'mosquitto to reload', log);
  const revoked = await pub(carol, 'home/carol-revoked');
  assert.notEqual(revoked.code, 0, 'carol must be refused after revoke and reload');
  const after = await pub(alice, 'home/alice-after');
  assert.equal(after.code, 0, `alice still connects after the reload\n${after.stderr}\n${log()}`);
  assert.doesNotMatch(log(), /Unable to load|Permission denied/);
}

test('mosquitto as Debian runs it, files installed as the .conf says: CN as username; none, foreign and revoked (after re-publish + SIGHUP) refused', (t) =>
  deployAndRevoke(t, 'installed as the .conf says'));

test('mosquitto as Debian runs it, --out-dir on the broker itself: the key is 0640 group mosquitto and works in place, also after revoke + re-publish + SIGHUP', (t) =>
  deployAndRevoke(t, 'written in place on the broker'));

test('a user who may not give the key to group mosquitto gets it 0600 and the install command to run', (t) => {
  if (!requireRootForMosquitto(t)) return;
  mosquittoUid(); // the group exists, as on a broker
  const user = 'pocketca-tester';
  if (spawnSync('id', ['-u', user]).status !== 0) {
    const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', user], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
  }
  const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
  const dir = tempDir();
  t.after(() => require('node:fs').rmSync(dir, { recursive: true, force: true }));
  const pass = secretFile(dir, 'pass', PASSPHRASE);
  for (const path of [dir, pass]) chownSync(path, uid, -1);
  const home = join(dir, 'home');
  const as = (args: string[]) => {
    const r = spawnSync('runuser', ['-u', user, '--', process.execPath, BIN, ...args, '--home', home], { cwd: dir, env: cleanEnv(), encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${args.join(' ')}\n${r.stderr}`);
    return r;
  };
  as(['init', '--key-size', '2048', '--passphrase-file', pass]);
  as(['issue', 'broker', '--profile', 'server', '--dns', 'broker.home.arpa', '--passphrase-file', pass]);
  const r = as(['proxy', 'mosquitto', '--cert', 'broker.pem', '--key', 'broker.key.pem', '--out-dir', join(dir, 'to-broker')]);
  const key = statSync(join(dir, 'to-broker', 'broker.home.arpa.key.pem'));
  assert.deepEqual([(key.mode & 0o777).toString(8), key.uid], ['600', uid], 'left 0600, the user\'s own');
  assert.match(r.stderr, /stays 0600: this user may not give it to group mosquitto/);
  assert.match(r.stderr, /sudo install -m 0640 -g mosquitto \S+broker\.home\.arpa\.key\.pem \/etc\/pocketca\//);
});

test('the key is given to group mosquitto through the file written, never through a symbolic link swapped in after the rename', async (t) => {
  if (!requireRootForMosquitto(t)) return;
  mosquittoUid(); // the group exists, as on a broker
  const f = proxyFixture(t, []);
  // The out-dir is writable by someone else (Debian's /var/lib/mosquitto is mosquitto's): a file there
  // can become a symbolic link between the rename and the chown. The victim stands for /etc/shadow.
  const victim = join(f.ca.dir, 'victim');
  writeFileSync(victim, 'secret\n', { mode: 0o600 });
  const outDir = join(f.ca.dir, 'to-broker');
  const keyPath = join(outDir, 'localhost.key.pem');
  const run = f.ca.runAsync(['proxy', 'mosquitto', '--cert', f.server.cert, '--key', f.server.key, '--out-dir', outDir], {
    env: { POCKETCA_TEST_PAUSE_AT: 'share-with-group@4000' },
  });
  await waitFor(async () => existsSync(keyPath), 'the key to be written');
  rmSync(keyPath);
  symlinkSync(victim, keyPath);
  const r = await run;
  const st = statSync(victim);
  assert.deepEqual([(st.mode & 0o777).toString(8), st.gid], ['600', 0], `the victim keeps its mode and group\n${r.stderr}`);
  assert.notEqual(r.code, 0, 'a key that is no longer the file written is an error');
  assert.match(r.stderr, /error: .*localhost\.key\.pem/);
});
