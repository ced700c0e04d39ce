/**
 * `npm run bench`: pocketca against the openssl command line and easy-rsa in
 * the same run (issues 6, 13 and 18). Every timed command is a whole process,
 * started as a user starts it; set-up (CA creation, seeding records) is not
 * timed.
 *
 *   npm run bench                      the full run, ~5 minutes on 2 idle cores; writes bench/results/latest.json
 *   npm run bench -- --quick           fewer runs, for development; writes nothing
 *   npm run bench -- --only crl-1m     one scenario, or a comma-separated list (see SCENARIOS)
 *   npm run bench -- --scale 0.01      the seeded records and batch sizes scaled down (1M -> 10k), for development; writes nothing
 *   BENCH_RUNS=40 npm run bench        runs of the short scenarios (default 25; start-up twice that)
 *   BENCH_LONG_RUNS=8 npm run bench    runs of the batch and million-record scenarios (default 5)
 *   BENCH_KEEP=1                       keep the temporary directory
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fromPem } from '../src/formats/pem';
import {
  easyrsa,
  EASYRSA,
  initEasyrsaPki,
  initPocketcaHome,
  openssl,
  opensslCaKey,
  pocketca,
  ROOT,
  SCRYPT_NOTE,
  Workspace,
  writeClientExtensions,
  writeOpensslCaConfig,
} from './fixtures';
import { canMeasureMemory, GNU_TIME, measure, runOnce, type Contender, type Step } from './measure';
import { evaluate, formatGoals, formatMachine, formatScenarios, summarise, type Goal, type Machine, type ScenarioResult } from './report';
import { appendOpensslIndex, seededSerials, seedHome } from './seed';

const SCENARIOS = ['startup', 'issue', 'issue-ec', 'batch', 'batch-ec', 'sign', 'revoke', 'crl', 'crl-1m', 'list', 'list-1m'] as const;
type ScenarioId = (typeof SCENARIOS)[number];
/** The scenarios that compare with easy-rsa, and those that read GNU time's peak memory. */
const NEEDS_EASYRSA: readonly ScenarioId[] = ['issue', 'sign', 'revoke'];
const NEEDS_TIME: readonly ScenarioId[] = ['crl', 'crl-1m', 'list-1m'];

/** Sizes from issues 6 and 13. */
const SIZES = {
  revokedBeforeRevoke: 10_000,
  crlEntries: 100_000,
  listRecords: 100_000,
  listRevoked: 10_000,
  million: 1_000_000,
  batchRsa: 12,
  batchEc: 100,
};
type Sizes = typeof SIZES;

interface Options {
  runs: number;
  longRuns: number;
  quick: boolean;
  scale: number;
  sizes: Sizes;
  only: Set<ScenarioId>;
}

function wholeNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number of runs`);
  return n;
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? (argv[i + 1] ?? '') : undefined;
  };
  const onlyArg = value('--only');
  const only = new Set<ScenarioId>(onlyArg === undefined ? SCENARIOS : onlyArg.split(',').filter((s): s is ScenarioId => (SCENARIOS as readonly string[]).includes(s)));
  if (only.size === 0) throw new Error(`--only takes a comma-separated list of: ${SCENARIOS.join(', ')}`);
  const scale = Number(value('--scale') ?? process.env.BENCH_SCALE ?? 1);
  if (!(scale > 0 && scale <= 1)) throw new Error('--scale takes a number above 0, at most 1');
  const sizes = Object.fromEntries(Object.entries(SIZES).map(([k, v]) => [k, Math.max(2, Math.round(v * scale))])) as Sizes;
  return {
    runs: wholeNumber('BENCH_RUNS', process.env.BENCH_RUNS) ?? (quick ? 3 : 25),
    longRuns: wholeNumber('BENCH_LONG_RUNS', process.env.BENCH_LONG_RUNS) ?? (quick ? 2 : 5),
    quick,
    scale,
    sizes,
    only,
  };
}

/** The records `list --json` prints in the start-up scenario: a handful, as on a home network. */
const FEW_RECORDS = 3;
const LIST_FEW = `pocketca list --json (${FEW_RECORDS} records)`;

const GOALS: Goal[] = [
  { text: '`issue` ≤ 1.0× the openssl pipeline', kind: 'ratio', scenario: 'issue', of: 'pocketca issue', to: 'openssl pipeline', max: 1.0 },
  { text: '`issue` ≤ 0.75× easy-rsa `build-client-full`', kind: 'ratio', scenario: 'issue', of: 'pocketca issue', to: 'easy-rsa build-client-full', max: 0.75 },
  { text: '`issue --key-type ec` ≤ 1.0× the openssl P-256 pipeline', kind: 'ratio', scenario: 'issue-ec', of: 'pocketca issue --key-type ec', to: 'openssl P-256 pipeline', max: 1.0 },
  { text: '`issue --batch` of 12 RSA-2048 ≤ 0.5× twelve openssl pipelines', kind: 'ratio', scenario: 'batch', of: 'pocketca issue --batch', to: 'openssl pipeline in a loop', max: 0.5 },
  { text: '`issue --batch` of 100 P-256 ≤ 0.1× a hundred openssl P-256 pipelines', kind: 'ratio', scenario: 'batch-ec', of: 'pocketca issue --batch --key-type ec', to: 'openssl P-256 pipeline in a loop', max: 0.1 },
  { text: '`sign` ≤ 1.0× `openssl x509 -req` with the same scrypt CA key', kind: 'ratio', scenario: 'sign', of: 'pocketca sign', to: 'openssl x509 -req', max: 1.0 },
  { text: '`sign` ≤ 0.8× easy-rsa `sign-req`', kind: 'ratio', scenario: 'sign', of: 'pocketca sign', to: 'easy-rsa sign-req', max: 0.8 },
  { text: '`revoke` at 10k revoked ≤ 0.5× easy-rsa `revoke` + `gen-crl`', kind: 'ratio', scenario: 'revoke', of: 'pocketca revoke', to: 'easy-rsa revoke + gen-crl', max: 0.5 },
  { text: '`crl` at 100k revoked ≤ 1.0× `openssl ca -gencrl`', kind: 'ratio', scenario: 'crl', of: 'pocketca crl', to: 'openssl ca -gencrl', max: 1.0 },
  { text: '`crl` at 100k revoked: peak memory ≤ 250 MiB', kind: 'memory', scenario: 'crl', of: 'pocketca crl', maxMib: 250 },
  { text: '`crl` at 1M revoked ≤ 0.7× `openssl ca -gencrl`', kind: 'ratio', scenario: 'crl-1m', of: 'pocketca crl', to: 'openssl ca -gencrl', max: 0.7 },
  { text: '`crl` at 1M revoked: peak memory ≤ 0.5× `openssl ca -gencrl`', kind: 'memory-ratio', scenario: 'crl-1m', of: 'pocketca crl', to: 'openssl ca -gencrl', max: 0.5 },
  { text: '`list --json` of 100k ≤ 0.5 s', kind: 'time', scenario: 'list', of: 'pocketca list --all --json', maxMs: 500 },
  { text: '`list --revoked` of 10k ≤ 0.1 s', kind: 'time', scenario: 'list', of: 'pocketca list --revoked', maxMs: 100 },
  { text: '`pocketca --version` ≤ 1.1× `node -e 0`', kind: 'ratio', scenario: 'startup', of: 'pocketca --version', to: 'node -e 0', max: 1.1 },
  { text: `\`list --json\` of ${FEW_RECORDS} records ≤ 1.5× \`node -e 0\``, kind: 'ratio', scenario: 'startup', of: LIST_FEW, to: 'node -e 0', max: 1.5 },
];

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);
const randomSerial = (): string => `0x${randomBytes(16).toString('hex').replace(/^./, '4')}`;
const count = (n: number): string => n.toLocaleString('en');
/** 1,000,000 -> "1M", 100,000 -> "100k" (titles and labels stay short). */
const short = (n: number): string => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

/** The DER of a certificate pocketca really signed, reused by every seeded record. */
function someCertificateDer(ws: Workspace, home: string): Buffer {
  const pem = ws.path('seed-source.pem');
  runOnce(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', ws.path('seed-source.key'), '-subj', '/CN=seed', '-out', ws.path('seed-source.csr')]));
  runOnce(pocketca(['sign', ws.path('seed-source.csr'), '--home', home, '--passphrase-file', ws.passFile, '--out', pem, '-q']));
  return fromPem(readFileSync(pem, 'latin1'), ['CERTIFICATE'])!;
}

function startup(ws: Workspace, o: Options): ScenarioResult {
  const home = initPocketcaHome(ws, 'startup-home');
  const out = ws.mkdir('startup-issued');
  for (let i = 1; i <= FEW_RECORDS; i++) {
    runOnce(pocketca(['issue', `device-${i}`, '--key-type', 'ec', '--home', home, '--passphrase-file', ws.passFile, '--p12-password-file', ws.p12PassFile, '--out-dir', out, '-q']));
  }
  const json = ws.path('startup-list.json');
  log(`startup: ${o.runs * 2} runs each`);
  const contenders: Contender[] = [
    { label: 'node -e 0', steps: () => [{ command: process.execPath, args: ['-e', '0'] }] },
    { label: 'pocketca --version', steps: () => [pocketca(['--version'])] },
    { label: LIST_FEW, steps: () => [pocketca(['list', '--json', '--home', home], json)] },
  ];
  const samples = measure(contenders, { runs: o.runs * 2, warmup: 3, scratch: ws.dir });
  const listed = (JSON.parse(readFileSync(json, 'utf8')) as unknown[]).length;
  return summarise('startup', 'start-up', samples, [
    ['pocketca --version', 'node -e 0'],
    [LIST_FEW, 'node -e 0'],
  ], [`node -e 0 is Node.js starting and stopping with nothing to do: no command written for Node can be faster. list --json printed ${listed} records.`]);
}

type KeyType = 'rsa' | 'ec';

/**
 * One CA home shared by the issuing scenarios (RSA-3072 root, pocketca's
 * default), the same key encrypted by openssl for the openssl side, and the
 * openssl pipeline that makes what `pocketca issue` makes.
 */
class IssuingCa {
  readonly home: string;
  readonly opensslKey: string;
  private readonly ext: Record<KeyType, string>;

  constructor(readonly ws: Workspace) {
    this.home = initPocketcaHome(ws, 'issue-home');
    this.opensslKey = opensslCaKey(ws, this.home);
    this.ext = { rsa: writeClientExtensions(ws, 'rsa'), ec: writeClientExtensions(ws, 'ec') };
  }

  get caCert(): string {
    return join(this.home, 'ca.pem');
  }

  /** `openssl x509 -req`: a CSR signed with the CA key and pocketca's client extensions. */
  x509Req(csrPath: string, outPath: string, keyType: KeyType = 'rsa'): Step {
    return openssl(['x509', '-req', '-in', csrPath, '-CA', this.caCert, '-CAkey', this.opensslKey, '-passin', `file:${this.ws.passFile}`,
      '-set_serial', randomSerial(), '-days', '365', '-sha256', '-extfile', this.ext[keyType], '-extensions', 'client', '-out', outPath]);
  }

  /**
   * The same identity by hand: key, certificate with the client extensions,
   * PKCS#12 in pocketca's legacy layout (3DES key bag, plain certificates,
   * SHA-1 MAC). `base` is the path without its suffix.
   */
  pipeline(base: string, cn: string, keyType: KeyType): Step[] {
    const keyArgs = keyType === 'rsa' ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'] : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    return [
      openssl(['genpkey', ...keyArgs, '-out', `${base}.key`]),
      openssl(['req', '-new', '-key', `${base}.key`, '-subj', `/CN=${cn}`, '-out', `${base}.csr`]),
      this.x509Req(`${base}.csr`, `${base}.pem`, keyType),
      openssl(['pkcs12', '-export', '-inkey', `${base}.key`, '-in', `${base}.pem`, '-certfile', this.caCert, '-name', cn,
        '-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'NONE', '-macalg', 'sha1', '-passout', `file:${this.ws.p12PassFile}`, '-out', `${base}.p12`]),
    ];
  }

  /** `pocketca issue NAME` with the benchmark's passphrase and PKCS#12 password files. */
  issue(name: string, outDir: string, extra: string[] = []): Step {
    return pocketca(['issue', name, '--home', this.home, '--passphrase-file', this.ws.passFile, '--p12-password-file', this.ws.p12PassFile, '--out-dir', outDir, '-q', ...extra]);
  }
}

const ISSUE_NOTE = 'pocketca issue writes NAME.pem, NAME.p12 (legacy 3DES) and NAME.mobileconfig; the openssl pipeline is genpkey + req + x509 -req + pkcs12 -export (no profile: openssl has none).';

function issue(ca: IssuingCa, o: Options, pki: string): ScenarioResult {
  const ws = ca.ws;
  const out = ws.mkdir('issued');
  log(`issue: ${o.runs} runs each`);
  const contenders: Contender[] = [
    { label: 'pocketca issue', steps: (run) => [ca.issue(`dev-${run}`, out)] },
    { label: 'openssl pipeline', steps: (run) => ca.pipeline(join(out, `o${run}`), `o${run}`, 'rsa') },
    {
      label: 'easy-rsa build-client-full',
      steps: (run) => [easyrsa(pki, [`--passin=file:${ws.passFile}`, '--keysize=2048', '--days=365', 'build-client-full', `e${run}`, 'nopass'])],
    },
  ];
  return summarise(
    'issue',
    '1. issue a client identity',
    measure(contenders, { runs: o.runs, scratch: ws.dir }),
    [
      ['pocketca issue', 'openssl pipeline'],
      ['pocketca issue', 'easy-rsa build-client-full'],
    ],
    [`${ISSUE_NOTE} easy-rsa build-client-full writes a key and a certificate, no PKCS#12.`, 'RSA-2048 client keys; all three CAs are RSA-3072.'],
  );
}

function issueEc(ca: IssuingCa, o: Options): ScenarioResult {
  const out = ca.ws.mkdir('issued-ec');
  log(`issue-ec: ${o.runs} runs each`);
  const contenders: Contender[] = [
    { label: 'pocketca issue --key-type ec', steps: (run) => [ca.issue(`ec-${run}`, out, ['--key-type', 'ec'])] },
    { label: 'openssl P-256 pipeline', steps: (run) => ca.pipeline(join(out, `o${run}`), `o${run}`, 'ec') },
  ];
  return summarise('issue-ec', '1b. issue a P-256 identity', measure(contenders, { runs: o.runs, scratch: ca.ws.dir }), [['pocketca issue --key-type ec', 'openssl P-256 pipeline']], [
    `${ISSUE_NOTE} P-256 client keys (keyUsage digitalSignature), the RSA-3072 root of the other issue scenarios.`,
  ]);
}

/**
 * `issue --batch` of `size` names against the openssl pipeline run `size`
 * times in a loop. Each run has its own names and output directory; the
 * PKCS#12 passwords are generated (what a batch is for), so pocketca also
 * writes OUT_DIR/passwords.csv.
 */
function batch(ca: IssuingCa, o: Options, id: 'batch' | 'batch-ec', size: number, keyType: KeyType): ScenarioResult {
  const ws = ca.ws;
  const tag = keyType === 'rsa' ? 'RSA-2048' : 'P-256';
  const ours = keyType === 'rsa' ? 'pocketca issue --batch' : 'pocketca issue --batch --key-type ec';
  const theirs = keyType === 'rsa' ? 'openssl pipeline in a loop' : 'openssl P-256 pipeline in a loop';
  const dir = (side: string, run: number) => ws.path(id, `${side}${run}`);
  const namesFile = (run: number) => ws.path(id, `names-${run}.txt`);
  log(`${id}: ${size} ${tag} identities, ${o.longRuns} runs each`);
  const contenders: Contender[] = [
    {
      label: ours,
      prepare: (run) => {
        mkdirSync(dir('p', run), { recursive: true });
        writeFileSync(namesFile(run), `# run ${run}\n` + Array.from({ length: size }, (_, i) => `${id}-${run}-${i + 1}`).join('\n') + '\n');
      },
      steps: (run) => [
        pocketca(['issue', '--batch', namesFile(run), '--home', ca.home, '--passphrase-file', ws.passFile, '--out-dir', dir('p', run), '-q', ...(keyType === 'ec' ? ['--key-type', 'ec'] : [])]),
      ],
    },
    {
      label: theirs,
      prepare: (run) => void mkdirSync(dir('o', run), { recursive: true }),
      steps: (run) => Array.from({ length: size }, (_, i) => ca.pipeline(join(dir('o', run), `o${i + 1}`), `o${run}-${i + 1}`, keyType)).flat(),
    },
  ];
  const samples = measure(contenders, { runs: o.longRuns, scratch: ws.dir });
  const written = readFileSync(join(dir('p', 0), 'passwords.csv'), 'utf8').trimEnd().split('\n').length - 1;
  return summarise(id, `${id === 'batch' ? '1c' : '1d'}. issue ${size} ${tag} identities`, samples, [[ours, theirs]], [
    `pocketca issue --batch: one process, one unlock, keys on the thread pool; ${size} × NAME.pem, NAME.p12, NAME.mobileconfig and passwords.csv (generated passwords; ${written} rows in the first run). The openssl side is the issue pipeline ${size} times (${size * 4} processes).`,
  ]);
}

function sign(ca: IssuingCa, o: Options, pki: string, csr: string): ScenarioResult {
  const ws = ca.ws;
  const out = ws.mkdir('signed');
  log(`sign: ${o.runs} runs each`);
  const contenders: Contender[] = [
    { label: 'pocketca sign', steps: (run) => [pocketca(['sign', csr, '--home', ca.home, '--passphrase-file', ws.passFile, '--out', join(out, `s${run}.pem`), '-q'])] },
    { label: 'openssl x509 -req', steps: (run) => [ca.x509Req(csr, join(out, `x${run}.pem`))] },
    {
      label: 'easy-rsa sign-req',
      prepare: (run) => copyFileSync(csr, join(pki, 'reqs', `s${run}.req`)),
      steps: (run) => [easyrsa(pki, [`--passin=file:${ws.passFile}`, '--days=365', 'sign-req', 'client', `s${run}`])],
    },
  ];
  return summarise('sign', '2. sign a CSR', measure(contenders, { runs: o.runs, scratch: ws.dir }), [
    ['pocketca sign', 'easy-rsa sign-req'],
    ['pocketca sign', 'openssl x509 -req'],
  ]);
}

function revoke(ws: Workspace, o: Options, csr: string, der: Buffer): ScenarioResult {
  const before = o.sizes.revokedBeforeRevoke;
  const warmup = 1;
  const targets = warmup + o.runs;
  log(`revoke: seeding ${count(before)} revoked certificates, signing ${targets} with easy-rsa`);
  const home = initPocketcaHome(ws, 'revoke-home');
  const db = join(home, 'pocketca.db');
  seedHome({ dbPath: db, count: before + targets, revoked: before, der, now: new Date() });
  const serials = seededSerials(db, before, targets);
  const pki = initEasyrsaPki(ws, 'revoke-pki', join(home, 'ca.key.pem'));
  for (let run = 0; run < targets; run++) {
    copyFileSync(csr, join(pki, 'reqs', `r${run}.req`));
    runOnce(easyrsa(pki, [`--passin=file:${ws.passFile}`, '--days=365', 'sign-req', 'client', `r${run}`]));
  }
  appendOpensslIndex(db, join(pki, 'index.txt'), before);
  log(`revoke: ${o.runs} runs each`);
  const contenders: Contender[] = [
    { label: 'pocketca revoke', steps: (run) => [pocketca(['revoke', serials[run]!, '--home', home, '--passphrase-file', ws.passFile, '-q'])] },
    {
      label: 'easy-rsa revoke + gen-crl',
      steps: (run) => [easyrsa(pki, [`--passin=file:${ws.passFile}`, 'revoke', `r${run}`]), easyrsa(pki, [`--passin=file:${ws.passFile}`, 'gen-crl'])],
    },
  ];
  return summarise('revoke', `3. revoke with ${count(before)} already revoked`, measure(contenders, { runs: o.runs, warmup, scratch: ws.dir }), [
    ['pocketca revoke', 'easy-rsa revoke + gen-crl'],
  ], [`Both record the revocation and sign a new CRL of ~${count(before)} entries.`]);
}

/** How many entries a CRL lists, by OpenSSL's own reading of it. */
function crlEntries(path: string): number {
  const text = runOnce(openssl(['crl', '-in', path, '-noout', '-text']));
  return (text.match(/Serial Number:/g) ?? []).length;
}

/** A home of `records` certificates, the first `revoked` of them revoked. */
function seededHome(ws: Workspace, name: string, der: Buffer, records: number, revoked: number): string {
  log(`${name}: seeding ${count(records)} certificates, ${count(revoked)} of them revoked`);
  const home = initPocketcaHome(ws, name);
  const t = Date.now();
  seedHome({ dbPath: join(home, 'pocketca.db'), count: records, revoked, der, now: new Date() });
  log(`${name}: seeded in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return home;
}

function crl(ws: Workspace, o: Options, id: 'crl' | 'crl-1m', home: string, entries: number, runs: number): ScenarioResult {
  const dir = ws.mkdir(`${id}-openssl`);
  const index = join(dir, 'index.txt');
  writeFileSync(index, '');
  const lines = appendOpensslIndex(join(home, 'pocketca.db'), index);
  const config = writeOpensslCaConfig(dir, index, 365);
  const caKey = opensslCaKey(ws, home);
  log(`${id}: ${lines} index.txt lines; ${runs} runs each${canMeasureMemory() ? ', under GNU time for the peak memory' : ' (no GNU time: memory not measured)'}`);
  const contenders: Contender[] = [
    { label: 'pocketca crl', steps: () => [pocketca(['crl', '--home', home, '--passphrase-file', ws.passFile, '-q'])] },
    {
      label: 'openssl ca -gencrl',
      steps: () => [openssl(['ca', '-gencrl', '-config', config, '-cert', join(home, 'ca.pem'), '-keyfile', caKey, '-passin', `file:${ws.passFile}`, '-out', join(dir, 'crl.pem')])],
    },
  ];
  const samples = measure(contenders, { runs, memory: true, scratch: ws.dir });
  const size = (p: string) => `${(statSync(p).size / 1024 / 1024).toFixed(1)} MiB`;
  return summarise(id, `${id === 'crl' ? '4' : '4b'}. crl with ${count(entries)} revoked`, samples, [['pocketca crl', 'openssl ca -gencrl']], [
    `Same serials, dates and reasons on both sides (index.txt written from pocketca's database), same CA key. Entries listed (openssl crl -text): pocketca ${crlEntries(join(home, 'crl.pem'))}, openssl ${crlEntries(join(dir, 'crl.pem'))}; PEM sizes ${size(join(home, 'crl.pem'))} and ${size(join(dir, 'crl.pem'))}.`,
  ], [['pocketca crl', 'openssl ca -gencrl']]);
}

function list(ws: Workspace, o: Options, der: Buffer): ScenarioResult {
  const { listRecords, listRevoked } = o.sizes;
  const home = seededHome(ws, 'list-home', der, listRecords, listRevoked);
  const json = ws.path('list.json');
  const table = ws.path('list-revoked.txt');
  log(`list: ${o.runs} runs each`);
  const contenders: Contender[] = [
    { label: 'pocketca list --all --json', steps: () => [pocketca(['list', '--all', '--json', '--home', home], json)] },
    { label: 'pocketca list --revoked', steps: () => [pocketca(['list', '--revoked', '--home', home], table)] },
  ];
  const samples = measure(contenders, { runs: o.runs, scratch: ws.dir });
  const listed = (JSON.parse(readFileSync(json, 'utf8')) as unknown[]).length;
  const rows = readFileSync(table, 'utf8').trimEnd().split('\n').length - 1;
  return summarise('list', `5. list, ${count(listRecords)} recorded`, samples, [], [
    `stdout to a file; list --all --json printed ${listed} records, list --revoked ${rows} rows.`,
  ]);
}

function listMillion(ws: Workspace, o: Options, home: string, records: number): ScenarioResult {
  const json = ws.path('list-1m.json');
  log(`list-1m: ${o.longRuns} runs`);
  const contenders: Contender[] = [{ label: 'pocketca list --all --json', steps: () => [pocketca(['list', '--all', '--json', '--home', home], json)] }];
  const samples = measure(contenders, { runs: o.longRuns, memory: true, scratch: ws.dir });
  const bytes = statSync(json).size;
  const listed = (readFileSync(json, 'latin1').match(/"serial"/g) ?? []).length;
  return summarise('list-1m', `5b. list --json, ${count(records)} recorded`, samples, [], [
    `The home of 4b (every certificate revoked, no DER stored: neither crl nor list reads it); stdout to a file: ${listed} records, ${(bytes / 1024 / 1024).toFixed(0)} MiB of JSON.`,
  ]);
}

function machine(loadAtStart: number): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const easyrsaVersion = (() => {
    try {
      return /Version:\s*(\S+)/.exec(runOnce({ command: EASYRSA, args: ['--version'] }))?.[1] ?? 'unknown';
    } catch {
      return 'not installed';
    }
  })();
  return {
    nproc: availableParallelism(),
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown',
    memoryGib: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    openssl: runOnce(openssl(['version'])).trim(),
    easyrsa: easyrsaVersion,
    loadAverage: [loadAtStart, loadavg()[0]!],
  };
}

/**
 * What the contenders need, checked before any work: a missing tool is one
 * line naming what to install, not a stack trace minutes into the run.
 */
function missingTools(o: Options): string[] {
  const missing: string[] = [];
  const runs = (command: string, args: string[]) => !spawnSync(command, args, { stdio: 'ignore' }).error;
  if (!runs('openssl', ['version'])) missing.push('openssl (Debian/Ubuntu: apt-get install openssl)');
  if (NEEDS_EASYRSA.some((s) => o.only.has(s))) {
    try {
      accessSync(EASYRSA, constants.X_OK);
    } catch {
      missing.push(`easy-rsa, looked for at ${EASYRSA} (Debian/Ubuntu: apt-get install easy-rsa; or set EASYRSA_BIN to its easyrsa script)`);
    }
  }
  if (NEEDS_TIME.some((s) => o.only.has(s)) && !canMeasureMemory()) {
    missing.push(`GNU time, looked for at ${GNU_TIME}, for the peak memory (Debian/Ubuntu: apt-get install time; or set GNU_TIME_BIN)`);
  }
  return missing;
}

function main(): void {
  const o = parseOptions(process.argv.slice(2));
  const missing = missingTools(o);
  if (missing.length > 0) {
    log(`cannot run: the benchmark compares pocketca with tools that are not installed:\n${missing.map((m) => `  - ${m}`).join('\n')}`);
    process.exitCode = 1;
    return;
  }
  const started = Date.now();
  const loadAtStart = loadavg()[0]!;
  const ws = new Workspace(mkdtempSync(join(tmpdir(), 'pocketca-bench-')));
  log(`working in ${ws.dir}${o.quick ? ' (quick)' : ''}${o.scale < 1 ? ` (scale ${o.scale})` : ''}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const scenarios: ScenarioResult[] = [];
  const has = (...ids: ScenarioId[]) => ids.some((id) => o.only.has(id));
  /** Each scenario with the 1-minute load average when it started. */
  const add = (result: ScenarioResult, load: number) => scenarios.push({ ...result, loadAtStart: Number(load.toFixed(2)) });
  const run = (id: ScenarioId, body: () => ScenarioResult) => {
    if (!o.only.has(id)) return;
    const load = loadavg()[0]!;
    add(body(), load);
  };
  try {
    const csr = ws.path('device.csr');
    runOnce(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', ws.path('device.key'), '-subj', '/CN=device', '-out', csr]));
    run('startup', () => startup(ws, o));
    if (has('issue', 'issue-ec', 'batch', 'batch-ec', 'sign')) {
      const ca = new IssuingCa(ws);
      const pki = has('issue', 'sign') ? initEasyrsaPki(ws, 'issue-pki', join(ca.home, 'ca.key.pem')) : '';
      run('issue', () => issue(ca, o, pki));
      run('issue-ec', () => issueEc(ca, o));
      run('batch', () => batch(ca, o, 'batch', o.sizes.batchRsa, 'rsa'));
      run('batch-ec', () => batch(ca, o, 'batch-ec', o.sizes.batchEc, 'ec'));
      run('sign', () => sign(ca, o, pki, csr));
    }
    if (has('revoke', 'crl', 'crl-1m', 'list', 'list-1m')) {
      const der = someCertificateDer(ws, initPocketcaHome(ws, 'seed-home'));
      run('revoke', () => revoke(ws, o, csr, der));
      run('crl', () => crl(ws, o, 'crl', seededHome(ws, 'crl-home', der, o.sizes.crlEntries, o.sizes.crlEntries), o.sizes.crlEntries, o.runs));
      run('list', () => list(ws, o, der));
      if (has('crl-1m', 'list-1m')) {
        const million = o.sizes.million;
        const home = seededHome(ws, 'million-home', Buffer.alloc(0), million, million);
        run('crl-1m', () => crl(ws, o, 'crl-1m', home, million, o.longRuns));
        run('list-1m', () => listMillion(ws, o, home, million));
      }
    }
  } finally {
    if (process.env.BENCH_KEEP === '1') log(`kept ${ws.dir}`);
    else rmSync(ws.dir, { recursive: true, force: true });
  }

  const m = machine(loadAtStart);
  const goals = evaluate(GOALS, scenarios);
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  process.stdout.write(`${formatScenarios(scenarios)}\n\n${formatGoals(goals)}\n\nMachine: ${formatMachine(m)}. ${new Date().toISOString().slice(0, 10)}, ${minutes} min.\n`);
  process.stdout.write(`- ${SCRYPT_NOTE}\n`);
  for (const s of scenarios) for (const note of s.notes) process.stdout.write(`- ${s.title}: ${note}\n`);
  if (o.quick || o.scale < 1) {
    log(`${o.quick ? 'quick' : 'scaled'} run: results not written`);
    return;
  }
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const document = { date: new Date().toISOString(), minutes: Number(minutes), machine: m, runs: o.runs, longRuns: o.longRuns, caKeys: SCRYPT_NOTE, scenarios, goals };
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(document, null, 2) + '\n');
  log(`wrote ${join(dir, 'latest.json')}`);
}

main();
