/**
 * A second SCEP client (issue 17): certmonger 0.79, the real daemon with its
 * own key generation, PKCSReq and scep-submit helper, on a private D-Bus
 * session (dbus-run-session) with its state in the test's directory, against
 * `pocketca scep` on 127.0.0.1, RSA-2048 and RSA-4096 side by side.
 *
 * certmonger verifies a CertRep against the issuer of the RA certificate it
 * took from GetCACert. pocketca has no RA: GetCACert returns the CA itself
 * (RFC 8894 §4.2.1.1), and neither that nor a certs-only PKCS#7 of it gives
 * certmonger an issuer to trust (it then fails with "failed to verify
 * signature on server response"). The CA certificate is named with
 * `getcert add-scep-ca -N`, the command the docs give, which also pins the
 * CA instead of trusting whatever GetCACert returns over plain HTTP.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestCa, openssl } from '../helpers/cli';
import { withTimeout } from '../helpers/lan-server';
import { challengeOf, startScep } from '../helpers/scep-enrollment';
import { requireTool } from '../helpers/tools';

/** What the docs tell a certmonger user to run, with the daemon started on a private session bus. */
const SCRIPT = `
set -u
certmonger -s -n > "$D/daemon.log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null' EXIT
for i in $(seq 100); do getcert list-cas -s > /dev/null 2>&1 && break; sleep 0.1; done
getcert add-scep-ca -s -c pocketca -u "$SCEP_URL" -N "$CA_PEM"
getcert request -s -c pocketca -k "$D/key.pem" -f "$D/cert.pem" -N "CN=$NAME" -L "$CHALLENGE" -g "$BITS" -w -v
getcert list -s
`;

function runCertmonger(dir: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  for (const sub of ['cas', 'requests', 'tmp', 'home']) mkdirSync(join(dir, sub), { recursive: true });
  return new Promise((resolve) => {
    const child = spawn('dbus-run-session', ['--', 'bash', '-c', SCRIPT], {
      env: {
        ...process.env,
        ...env,
        D: dir,
        HOME: join(dir, 'home'),
        // certmonger keeps its CAs, requests and temporary files here instead of /var/lib/certmonger and /run.
        CERTMONGER_CAS_DIR: join(dir, 'cas'),
        CERTMONGER_REQUESTS_DIR: join(dir, 'requests'),
        CERTMONGER_TMPDIR: join(dir, 'tmp'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output });
    });
  });
}

const tools = (t: TestContext) =>
  requireTool(t, 'certmonger') && requireTool(t, 'getcert') && requireTool(t, 'dbus-run-session') && requireTool(t, 'openssl') && requireTool(t, 'python3');

test('certmonger (getcert add-scep-ca -N ca.pem) enrolls RSA-2048 and RSA-4096 by pocketca scep: its own key, CN=NAME under the root, recorded as scep', async (t) => {
  if (!tools(t)) return;
  await Promise.all(
    [2048, 4096].map(async (bits) => {
      const name = `cm-${bits}`;
      const ca = createTestCa();
      t.after(() => ca.cleanup());
      const { proc, scepUrl } = await startScep(t, ca, name, ['--ttl', '90s', '--key-size', String(bits)]);
      const caPem = join(ca.dir, 'pocketca-ca.pem');
      ca.ok(['bundle', '--out', caPem]);
      const dir = join(ca.dir, 'certmonger');
      const run = await runCertmonger(dir, { SCEP_URL: scepUrl, CA_PEM: caPem, NAME: name, CHALLENGE: challengeOf(ca, name), BITS: String(bits) });
      assert.equal(run.code, 0, run.output);
      assert.match(run.output, /status: MONITORING/, run.output);

      const certPem = join(dir, 'cert.pem');
      const verified = openssl(['verify', '-purpose', 'sslclient', '-CAfile', join(ca.home, 'ca.pem'), certPem]);
      assert.equal(verified.code, 0, verified.stderr + verified.stdout);
      assert.equal(openssl(['x509', '-in', certPem, '-noout', '-subject', '-nameopt', 'RFC2253']).stdout.trim(), `subject=CN=${name}`);
      const cert = new X509Certificate(readFileSync(certPem));
      assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, bits);
      const key = createPublicKey(readFileSync(join(dir, 'key.pem'))).export({ type: 'spki', format: 'der' });
      assert.ok(cert.publicKey.export({ type: 'spki', format: 'der' }).equals(key), "the certificate carries the key certmonger made");

      assert.equal(await withTimeout(proc.exited, 40_000, 'scep exit'), 0, proc.stderr());
      const listed = JSON.parse(ca.ok(['list', '--json']).stdout);
      const hex = (serial: string) => serial.toLowerCase().replace(/^0+/, '');
      assert.deepEqual(
        listed.map((c: { name: string; source: string; serial: string }) => [c.name, c.source, hex(c.serial)]),
        [[name, 'scep', hex(cert.serialNumber)]],
      );
    }),
  );
});
