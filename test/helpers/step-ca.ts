/**
 * step-ca as Debian ships it: golang-github-smallstep-certificates-dev 0.19
 * holds the libraries under /usr/share/gocode but no cmd/step-ca, and Debian
 * has no step CLI. contrib/step-ca has both missing pieces, the ~30-line main
 * package and a token minter made with step-ca's own libraries; this helper
 * builds them as docs say (GOPATH mode against /usr/share/gocode), runs
 * step-ca on 127.0.0.1 under an intermediate pocketca signed, and talks to
 * its API with curl, as a user would.
 *
 *   const tools = stepCaTools(t);                    // skips (or fails in CI) without go or the package
 *   const online = stepCaIntermediate(dir, 'rsa');   // key (encrypted) + CSR by openssl
 *   ca.ok(['sign', online.csr, '--profile', 'intermediate', '--out', online.cert]);
 *   const server = await configureStepCa(tools, online, caPem, [{ name: 'devices', template: true }]).start(t, ['ca.home.arpa']);
 *   const leaf = server.issue('devices', leafCsr(dir, 'carol', 'rsa'), 'carol');
 *
 * The binaries are cached across runs, keyed by the Go sources, the Debian
 * package's version and Go's: a cold build takes about a minute, a cached
 * one nothing. Two test processes may build at once: each builds into a
 * directory of its own and renames it into place; the first rename wins.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { ROOT, openssl, secretFile, tool, type ToolResult } from './cli';
import { freePort, waitFor } from './servers';
import { requireFile, requireTool } from './tools';

export const STEP_CA_PACKAGE = 'golang-github-smallstep-certificates-dev';
const GOCODE = '/usr/share/gocode';
const SOURCES = join(ROOT, 'contrib', 'step-ca');
const PROGRAMS = ['step-ca', 'step-ca-token'] as const;

export interface StepCaTools {
  stepCa: string;
  token: string;
  /** How the binaries were had: 'cached' or 'built in N s'. */
  how: string;
}

/** Where built binaries and Go's build cache live between runs (POCKETCA_TEST_CACHE overrides). */
function cacheRoot(): string {
  return process.env.POCKETCA_TEST_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pocketca-test');
}

const stdoutOf = (command: string, args: string[]): string => spawnSync(command, args, { encoding: 'utf8' }).stdout?.trim() ?? '';

/** The cache key: every file under contrib/step-ca, the Debian package's version, Go's version. */
function cacheKey(): string {
  const hash = createHash('sha256');
  const walk = (dir: string, rel: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, `${rel}${entry.name}/`);
      else hash.update(`${rel}${entry.name}\0`).update(readFileSync(path)).update('\0');
    }
  };
  walk(SOURCES, '');
  hash.update(stdoutOf('dpkg-query', ['-W', '-f=${Version}', STEP_CA_PACKAGE])).update('\0');
  hash.update(stdoutOf('go', ['env', 'GOVERSION']));
  return hash.digest('hex').slice(0, 16);
}

let built: StepCaTools | undefined;

function buildOrReuse(): StepCaTools {
  if (built) return built;
  const root = cacheRoot();
  const dir = join(root, `step-ca-${cacheKey()}`);
  const paths = () => ({ stepCa: join(dir, 'step-ca'), token: join(dir, 'step-ca-token') });
  if (PROGRAMS.every((p) => existsSync(join(dir, p)))) return (built = { ...paths(), how: `cached in ${dir}` });
  mkdirSync(root, { recursive: true });
  const tmp = mkdtempSync(join(root, 'build-'));
  const started = Date.now();
  try {
    const env = {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: `${join(tmp, 'gopath')}:${GOCODE}`,
      GOCACHE: join(root, 'go-build'),
      GOFLAGS: '',
      GOTOOLCHAIN: 'local',
      GOPROXY: 'off',
      CGO_ENABLED: '0',
    };
    for (const program of PROGRAMS) {
      const r = spawnSync('go', ['build', '-o', join(tmp, program), '.'], { cwd: join(SOURCES, program), env, encoding: 'utf8', timeout: 20 * 60_000 });
      if (r.status !== 0) throw new Error(`go build of contrib/step-ca/${program} failed (GOPATH mode against ${GOCODE}): ${r.stderr}${r.error ?? ''}`);
    }
    rmSync(join(tmp, 'gopath'), { recursive: true, force: true });
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process renamed its build into place first: use that one.
      if (!PROGRAMS.every((p) => existsSync(join(dir, p)))) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return (built = { ...paths(), how: `built in ${Math.round((Date.now() - started) / 1000)} s into ${dir}` });
}

/** The two binaries, built once per cache key; undefined (skipped, or failing under CI) without go or Debian's package. */
export function stepCaTools(t: TestContext): StepCaTools | undefined {
  if (!requireTool(t, 'go') || !requireTool(t, 'curl')) return undefined;
  if (!requireFile(t, join(GOCODE, 'src/github.com/smallstep/certificates/commands/app.go'), STEP_CA_PACKAGE)) return undefined;
  const tools = buildOrReuse();
  t.diagnostic(`step-ca and step-ca-token ${tools.how}`);
  return tools;
}

export type KeyType = 'rsa' | 'ec';
const newKey = (type: KeyType, rsaBits: number): string[] => (type === 'rsa' ? ['-newkey', `rsa:${rsaBits}`] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);

export interface StepCaIntermediate {
  dir: string;
  /** The intermediate's key, encrypted under passFile (PKCS#8), as step-ca's softkms reads it. */
  key: string;
  passFile: string;
  csr: string;
  /** Where the test writes the certificate pocketca signs. */
  cert: string;
}

/** `openssl req` for the intermediate, on the online machine: RSA 3072 or P-256, its key encrypted. */
export function stepCaIntermediate(parent: string, type: KeyType): StepCaIntermediate {
  const dir = join(parent, 'step-ca');
  mkdirSync(dir, { recursive: true });
  const o = { dir, key: join(dir, 'issuing.key'), passFile: secretFile(dir, 'issuing.pass', 'online-tier key password'), csr: join(dir, 'issuing.csr'), cert: join(dir, 'issuing.pem') };
  const r = openssl(['req', '-new', ...newKey(type, 3072), '-keyout', o.key, '-passout', `file:${o.passFile}`, '-subj', '/CN=Online Issuing CA', '-out', o.csr]);
  assert.equal(r.code, 0, r.stderr);
  return o;
}

export interface LeafRequest {
  name: string;
  key: string;
  csr: string;
}

/** A device's key and CSR (CN = name, no SANs) made by openssl. */
export function leafCsr(dir: string, name: string, type: KeyType): LeafRequest {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const r = openssl(['req', '-new', ...newKey(type, 2048), '-nodes', '-keyout', key, '-subj', `/CN=${name}`, '-out', csr]);
  assert.equal(r.code, 0, r.stderr);
  return { name, key, csr };
}

/**
 * The certificate template for devices: the token's subject as the subject
 * and no SANs (a device name is no DNS name, and under a name-constrained
 * root a DNS SAN outside the tree is refused), client authentication only.
 */
export const DEVICE_TEMPLATE = `{
  "subject": {{ toJson .Subject }},
  "keyUsage": ["digitalSignature"],
  "extKeyUsage": ["clientAuth"]
}
`;

export interface Provisioner {
  name: string;
  /** Use DEVICE_TEMPLATE (device.tpl) for its certificates; default step-ca's own (subject and token SANs, server and client auth). */
  template?: boolean;
}

export interface IssuedLeaf {
  cert: string;
  /** The leaf followed by the intermediate, as step-ca's certChain returns them. */
  chain: string;
  key: string;
}

export interface StepCaServer {
  port: number;
  /** https://ca.home.arpa:PORT (the first of dnsNames), which curl resolves to 127.0.0.1. */
  url: string;
  /** curl trusting pocketca's root, the CA's name resolved to 127.0.0.1; `path` is appended to url. */
  curl(path: string, args?: string[], input?: string): ToolResult;
  /** step-ca-token sign ... | curl --data-binary @- URL/1.0/sign: step-ca's JSON answer and the HTTP status. */
  sign(provisioner: string, request: LeafRequest, subject: string, sans?: string[]): { status: number; body: Record<string, unknown> };
  /** sign(), asserted to succeed; the leaf (and its chain) written next to its key. */
  issue(provisioner: string, request: LeafRequest, subject: string, sans?: string[]): IssuedLeaf;
  /** step-ca-token revoke ... CERT | curl --data-binary @- URL/1.0/revoke: the JSON answer and status. */
  revoke(provisioner: string, cert: string): { status: number; body: Record<string, unknown> };
  stop(): Promise<void>;
  log(): string;
}

export interface StepCa {
  dir: string;
  caJson: string;
  /** Write ca.json (a fresh port on 127.0.0.1, these dnsNames) and start step-ca; stopped after the test. */
  start(t: TestContext, dnsNames: string[]): Promise<StepCaServer>;
}

/** The provisioners (JWK keys made by step-ca-token, each under its own password file) and the template, as the docs set them up. */
export function configureStepCa(tools: StepCaTools, online: StepCaIntermediate, rootPem: string, provisioners: Provisioner[]): StepCa {
  const { dir } = online;
  const env = { ...process.env, STEPPATH: join(dir, 'steppath') };
  const template = join(dir, 'device.tpl');
  writeFileSync(template, DEVICE_TEMPLATE);
  const passFiles: Record<string, string> = {};
  const entries = provisioners.map((p) => {
    passFiles[p.name] = secretFile(dir, `${p.name}.pass`, `${p.name} provisioner password`);
    const r = tool(tools.token, ['provisioner', '-name', p.name, '-password-file', passFiles[p.name]!, ...(p.template ? ['-template', template] : [])], { env });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  });
  const caJson = join(dir, 'ca.json');
  const result = (r: ToolResult, what: string) => {
    const status = Number(/\n(\d{3})$/.exec(r.stdout)?.[1] ?? 0);
    assert.ok(status > 0, `${what}: curl exit ${r.code}: ${r.stderr}`);
    return { status, body: JSON.parse(r.stdout.replace(/\n\d{3}$/, '')) as Record<string, unknown> };
  };

  return {
    dir,
    caJson,
    async start(t, dnsNames) {
      const port = await freePort();
      writeFileSync(
        caJson,
        JSON.stringify(
          {
            root: rootPem,
            crt: online.cert,
            key: online.key,
            address: `127.0.0.1:${port}`,
            dnsNames,
            db: { type: 'bbolt', dataSource: join(dir, 'db') },
            logger: { format: 'text' },
            // step-ca's default is 24 h certificates; a device renews before its 30 days are up.
            authority: { provisioners: entries, claims: { defaultTLSCertDuration: '720h', maxTLSCertDuration: '720h' } },
          },
          null,
          2,
        ),
      );
      const child = spawn(tools.stepCa, ['--password-file', online.passFile, caJson], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const stop = async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
      };
      t.after(stop);
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`step-ca exited ${child.exitCode}:\n${output}`);
          return output.includes(`Serving HTTPS on 127.0.0.1:${port}`);
        },
        'step-ca to serve',
        () => output,
        30_000,
      );
      const url = `https://${dnsNames[0]}:${port}`;
      const curl = (path: string, args: string[] = [], input?: string) =>
        tool('curl', ['-sS', '--max-time', '10', '--cacert', rootPem, '--resolve', `${dnsNames[0]}:${port}:127.0.0.1`, ...args, `${url}${path}`], { input });
      const minted = (verb: 'sign' | 'revoke', provisioner: string, args: string[]) => {
        const r = tool(tools.token, [verb, '-config', caJson, '-name', provisioner, '-password-file', passFiles[provisioner]!, '-ca-url', url, ...args], { env });
        assert.equal(r.code, 0, `step-ca-token ${verb}: ${r.stderr}`);
        return r.stdout;
      };
      const post = (path: string, body: string) => curl(path, ['--data-binary', '@-', '-w', '\n%{http_code}'], body);
      const server: StepCaServer = {
        port,
        url,
        curl,
        sign: (provisioner, request, subject, sans = []) => result(post('/1.0/sign', minted('sign', provisioner, ['-csr', request.csr, subject, ...sans])), `sign ${subject}`),
        issue(provisioner, request, subject, sans = []) {
          const { status, body } = server.sign(provisioner, request, subject, sans);
          assert.equal(status, 201, `step-ca refused to sign ${subject}: ${JSON.stringify(body)}`);
          const cert = join(dir, `${request.name}-${subject}.pem`);
          const chain = join(dir, `${request.name}-${subject}.chain.pem`);
          writeFileSync(cert, body.crt as string);
          writeFileSync(chain, (body.certChain as string[]).join(''));
          return { cert, chain, key: request.key };
        },
        revoke: (provisioner, cert) => result(post('/1.0/revoke', minted('revoke', provisioner, [cert])), `revoke ${cert}`),
        stop,
        log: () => output,
      };
      return server;
    },
  };
}

/**
 * The intermediate's CRL, which Debian's step-ca 0.19 does not publish:
 * `openssl ca` over step-ca's own key, with an index of the serials revoked
 * at the online tier (online.cnf as the docs write it).
 */
export function onlineCrl(online: StepCaIntermediate): { revoke(cert: string): void; crl(out: string): void } {
  const conf = join(online.dir, 'online.cnf');
  writeFileSync(join(online.dir, 'index.txt'), '');
  writeFileSync(join(online.dir, 'crlnumber'), '1000\n');
  writeFileSync(
    conf,
    `[ ca ]
default_ca = issuing
[ issuing ]
database = ${online.dir}/index.txt
crlnumber = ${online.dir}/crlnumber
certificate = ${online.cert}
private_key = ${online.key}
default_md = sha256
default_crl_days = 7
`,
  );
  const run = (args: string[], what: string) => {
    const r = openssl(['ca', '-config', conf, '-passin', `file:${online.passFile}`, ...args]);
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  };
  return {
    revoke: (cert) => run(['-revoke', cert, '-crl_reason', 'keyCompromise'], 'openssl ca -revoke'),
    crl: (out) => run(['-gencrl', '-out', out], 'openssl ca -gencrl'),
  };
}
