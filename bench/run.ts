/**
 * `npm run bench`: pocketca against the openssl command line and easy-rsa in
 * the same run (issue 6). Every timed command is a whole process, started as
 * a user starts it; set-up (CA creation, seeding 100,000 records) is not timed.
 *
 *   npm run bench                 the full run, 5-7 minutes on 2 cores; writes bench/results/latest.json
 *   npm run bench -- --quick      3 runs per scenario, for development; writes nothing
 *   npm run bench -- --only crl,list
 *   BENCH_RUNS=40 npm run bench   runs per scenario (default 25; the start-up scenario does twice as many)
 *   BENCH_KEEP=1                  keep the temporary directory
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
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
  pocketca,
  ROOT,
  Workspace,
  writeClientExtensions,
  writeOpensslCaConfig,
} from './fixtures';
import { canMeasureMemory, GNU_TIME, measure, runOnce, type Contender, type Step } from './measure';
import { evaluate, formatGoals, formatMachine, formatScenarios, summarise, type Goal, type Machine, type ScenarioResult } from './report';
import { opensslIndexLines, seedHome } from './seed';

const SCENARIOS = ['startup', 'issue', 'sign', 'revoke', 'crl', 'list'] as const;
type ScenarioId = (typeof SCENARIOS)[number];

/** Sizes from issue 6. */
const REVOKED_BEFORE_REVOKE = 10_000;
const CRL_ENTRIES = 100_000;
const LIST_RECORDS = 100_000;
const LIST_REVOKED = 10_000;

interface Options {
  runs: number;
  quick: boolean;
  only: Set<ScenarioId>;
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const onlyIndex = argv.indexOf('--only');
  const only = new Set<ScenarioId>(onlyIndex >= 0 ? (argv[onlyIndex + 1] ?? '').split(',').filter((s): s is ScenarioId => (SCENARIOS as readonly string[]).includes(s)) : SCENARIOS);
  if (only.size === 0) throw new Error(`--only takes a comma-separated list of: ${SCENARIOS.join(', ')}`);
  const fromEnv = process.env.BENCH_RUNS ? Number(process.env.BENCH_RUNS) : undefined;
  if (fromEnv !== undefined && (!Number.isInteger(fromEnv) || fromEnv < 1)) throw new Error('BENCH_RUNS must be a whole number of runs');
  return { runs: fromEnv ?? (quick ? 3 : 25), quick, only };
}

const GOALS: Goal[] = [
  { text: '`issue` ≤ 1.0× the openssl pipeline', kind: 'ratio', scenario: 'issue', of: 'pocketca issue', to: 'openssl pipeline', max: 1.0 },
  { text: '`issue` ≤ 0.75× easy-rsa `build-client-full`', kind: 'ratio', scenario: 'issue', of: 'pocketca issue', to: 'easy-rsa build-client-full', max: 0.75 },
  { text: '`sign` ≤ 0.8× easy-rsa `sign-req`', kind: 'ratio', scenario: 'sign', of: 'pocketca sign', to: 'easy-rsa sign-req', max: 0.8 },
  { text: '`revoke` at 10k revoked ≤ 0.5× easy-rsa `revoke` + `gen-crl`', kind: 'ratio', scenario: 'revoke', of: 'pocketca revoke', to: 'easy-rsa revoke + gen-crl', max: 0.5 },
  { text: '`crl` at 100k revoked ≤ 1.0× `openssl ca -gencrl`', kind: 'ratio', scenario: 'crl', of: 'pocketca crl', to: 'openssl ca -gencrl', max: 1.0 },
  { text: '`crl` at 100k revoked: peak memory ≤ 250 MiB', kind: 'memory', scenario: 'crl', of: 'pocketca crl', maxMib: 250 },
  { text: '`list --json` of 100k ≤ 0.5 s', kind: 'time', scenario: 'list', of: 'pocketca list --all --json', maxMs: 500 },
  { text: '`list --revoked` of 10k ≤ 0.1 s', kind: 'time', scenario: 'list', of: 'pocketca list --revoked', maxMs: 100 },
  { text: '`pocketca --version` ≤ 1.3× `node -e 0`', kind: 'ratio', scenario: 'startup', of: 'pocketca --version', to: 'node -e 0', max: 1.3 },
];

const log = (message: string): void => void process.stderr.write(`bench: ${message}\n`);
const randomSerial = (): string => `0x${randomBytes(16).toString('hex').replace(/^./, '4')}`;

/** The DER of a certificate pocketca really signed, reused by every seeded record. */
function someCertificateDer(ws: Workspace, home: string): Buffer {
  const pem = ws.path('seed-source.pem');
  runOnce(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', ws.path('seed-source.key'), '-subj', '/CN=seed', '-out', ws.path('seed-source.csr')]));
  runOnce(pocketca(['sign', ws.path('seed-source.csr'), '--home', home, '--passphrase-file', ws.passFile, '--out', pem, '-q']));
  return fromPem(readFileSync(pem, 'latin1'), ['CERTIFICATE'])!;
}

function startup(ws: Workspace, o: Options): ScenarioResult {
  const home = initPocketcaHome(ws, 'empty-home');
  const contenders: Contender[] = [
    { label: 'node -e 0', steps: () => [{ command: process.execPath, args: ['-e', '0'] }] },
    { label: 'pocketca --version', steps: () => [pocketca(['--version'])] },
    { label: 'pocketca list (empty home)', steps: () => [pocketca(['list', '--home', home])] },
  ];
  const samples = measure(contenders, { runs: o.runs * 2, warmup: 3, scratch: ws.dir });
  return summarise('startup', 'start-up', samples, [
    ['pocketca --version', 'node -e 0'],
    ['pocketca list (empty home)', 'node -e 0'],
  ]);
}

function issue(ws: Workspace, o: Options, csr: string): { issue: ScenarioResult | undefined; sign: ScenarioResult | undefined } {
  const home = initPocketcaHome(ws, 'issue-home');
  const pki = initEasyrsaPki(ws, 'issue-pki');
  const ext = writeClientExtensions(ws);
  const out = ws.mkdir('issued');
  /** `openssl x509 -req`: a CSR signed with pocketca's CA key and client extensions. */
  const x509Req = (csrPath: string, outPath: string): Step =>
    openssl(['x509', '-req', '-in', csrPath, '-CA', join(home, 'ca.pem'), '-CAkey', join(home, 'ca.key.pem'), '-passin', `file:${ws.passFile}`,
      '-set_serial', randomSerial(), '-days', '365', '-sha256', '-extfile', ext, '-extensions', 'client', '-out', outPath]);
  let result: ScenarioResult | undefined;
  if (o.only.has('issue')) {
    log(`issue: ${o.runs} runs each`);
    const f = (run: number, suffix: string) => join(out, `o${run}${suffix}`);
    const contenders: Contender[] = [
      {
        label: 'pocketca issue',
        steps: (run) => [
          pocketca(['issue', `dev-${run}`, '--home', home, '--passphrase-file', ws.passFile, '--p12-password-file', ws.p12PassFile, '--out-dir', out, '-q']),
        ],
      },
      {
        // The same identity by hand: key, certificate with the client extensions, PKCS#12
        // in pocketca's legacy layout (3DES key bag, plain certificates, SHA-1 MAC).
        label: 'openssl pipeline',
        steps: (run) => [
          openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', f(run, '.key')]),
          openssl(['req', '-new', '-key', f(run, '.key'), '-subj', `/CN=o${run}`, '-out', f(run, '.csr')]),
          x509Req(f(run, '.csr'), f(run, '.pem')),
          openssl(['pkcs12', '-export', '-inkey', f(run, '.key'), '-in', f(run, '.pem'), '-certfile', join(home, 'ca.pem'), '-name', `o${run}`,
            '-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'NONE', '-macalg', 'sha1', '-passout', `file:${ws.p12PassFile}`, '-out', f(run, '.p12')]),
        ],
      },
      {
        label: 'easy-rsa build-client-full',
        steps: (run) => [easyrsa(pki, [`--passin=file:${ws.passFile}`, '--keysize=2048', '--days=365', 'build-client-full', `e${run}`, 'nopass'])],
      },
    ];
    result = summarise(
      'issue',
      '1. issue a client identity',
      measure(contenders, { runs: o.runs, scratch: ws.dir }),
      [
        ['pocketca issue', 'openssl pipeline'],
        ['pocketca issue', 'easy-rsa build-client-full'],
      ],
      [
        'pocketca issue writes NAME.pem, NAME.p12 (legacy 3DES) and NAME.mobileconfig; the openssl pipeline is genpkey + req + x509 -req + pkcs12 -export (no profile: openssl has none); easy-rsa build-client-full writes a key and a certificate, no PKCS#12.',
        'RSA-2048 client keys; both CAs are RSA-3072. pocketca and the openssl pipeline use the same CA key (PBES2/scrypt N=2^14, ~40-70 ms to decrypt); easy-rsa’s CA key is AES-256 with PBKDF2, cheaper to decrypt.',
      ],
    );
  }
  let sign: ScenarioResult | undefined;
  if (o.only.has('sign')) {
    log(`sign: ${o.runs} runs each`);
    const contenders: Contender[] = [
      { label: 'pocketca sign', steps: (run) => [pocketca(['sign', csr, '--home', home, '--passphrase-file', ws.passFile, '--out', join(out, `s${run}.pem`), '-q'])] },
      {
        label: 'openssl x509 -req',
        steps: (run) => [x509Req(csr, join(out, `x${run}.pem`))],
      },
      {
        label: 'easy-rsa sign-req',
        prepare: (run) => copyFileSync(csr, join(pki, 'reqs', `s${run}.req`)),
        steps: (run) => [easyrsa(pki, [`--passin=file:${ws.passFile}`, '--days=365', 'sign-req', 'client', `s${run}`])],
      },
    ];
    sign = summarise(
      'sign',
      '2. sign a CSR',
      measure(contenders, { runs: o.runs, scratch: ws.dir }),
      [
        ['pocketca sign', 'easy-rsa sign-req'],
        ['pocketca sign', 'openssl x509 -req'],
      ],
    );
  }
  return { issue: result, sign };
}

function revoke(ws: Workspace, o: Options, csr: string, der: Buffer): ScenarioResult {
  const warmup = 1;
  const targets = warmup + o.runs;
  log(`revoke: seeding ${REVOKED_BEFORE_REVOKE} revoked certificates, signing ${targets} with easy-rsa`);
  const home = initPocketcaHome(ws, 'revoke-home');
  const seeded = seedHome({ dbPath: join(home, 'pocketca.db'), count: REVOKED_BEFORE_REVOKE + targets, revoked: REVOKED_BEFORE_REVOKE, der, now: new Date() });
  const pki = initEasyrsaPki(ws, 'revoke-pki');
  for (let run = 0; run < targets; run++) {
    copyFileSync(csr, join(pki, 'reqs', `r${run}.req`));
    runOnce(easyrsa(pki, [`--passin=file:${ws.passFile}`, '--days=365', 'sign-req', 'client', `r${run}`]));
  }
  writeFileSync(join(pki, 'index.txt'), readFileSync(join(pki, 'index.txt'), 'utf8') + opensslIndexLines(seeded.slice(0, REVOKED_BEFORE_REVOKE)));
  log(`revoke: ${o.runs} runs each`);
  const contenders: Contender[] = [
    { label: 'pocketca revoke', steps: (run) => [pocketca(['revoke', seeded[REVOKED_BEFORE_REVOKE + run]!.serial, '--home', home, '--passphrase-file', ws.passFile, '-q'])] },
    {
      label: 'easy-rsa revoke + gen-crl',
      steps: (run) => [easyrsa(pki, [`--passin=file:${ws.passFile}`, 'revoke', `r${run}`]), easyrsa(pki, [`--passin=file:${ws.passFile}`, 'gen-crl'])],
    },
  ];
  return summarise('revoke', `3. revoke with ${REVOKED_BEFORE_REVOKE.toLocaleString('en')} already revoked`, measure(contenders, { runs: o.runs, warmup, scratch: ws.dir }), [
    ['pocketca revoke', 'easy-rsa revoke + gen-crl'],
  ], ['Both record the revocation and sign a new CRL of ~10,000 entries.']);
}

/** How many entries a CRL lists, by OpenSSL's own reading of it. */
function crlEntries(path: string): number {
  const text = runOnce(openssl(['crl', '-in', path, '-noout', '-text']));
  return (text.match(/Serial Number:/g) ?? []).length;
}

function crl(ws: Workspace, o: Options, der: Buffer): ScenarioResult {
  log(`crl: seeding ${CRL_ENTRIES} revoked certificates`);
  const home = initPocketcaHome(ws, 'crl-home');
  const seeded = seedHome({ dbPath: join(home, 'pocketca.db'), count: CRL_ENTRIES, revoked: CRL_ENTRIES, der, now: new Date() });
  const dir = ws.mkdir('crl-openssl');
  const index = join(dir, 'index.txt');
  writeFileSync(index, opensslIndexLines(seeded));
  const config = writeOpensslCaConfig(dir, index, 365);
  log(`crl: ${o.runs} runs each${canMeasureMemory() ? ', under /usr/bin/time for the peak memory' : ' (no /usr/bin/time: memory not measured)'}`);
  const contenders: Contender[] = [
    { label: 'pocketca crl', steps: () => [pocketca(['crl', '--home', home, '--passphrase-file', ws.passFile, '-q'])] },
    {
      label: 'openssl ca -gencrl',
      steps: () => [openssl(['ca', '-gencrl', '-config', config, '-cert', join(home, 'ca.pem'), '-keyfile', join(home, 'ca.key.pem'), '-passin', `file:${ws.passFile}`, '-out', join(dir, 'crl.pem')])],
    },
  ];
  const samples = measure(contenders, { runs: o.runs, memory: true, scratch: ws.dir });
  const size = (p: string) => `${(statSync(p).size / 1024 / 1024).toFixed(1)} MiB`;
  return summarise('crl', `4. crl with ${CRL_ENTRIES.toLocaleString('en')} revoked`, samples, [['pocketca crl', 'openssl ca -gencrl']], [
    `Same serials, dates and reasons on both sides, same CA key. Entries listed (openssl crl -text): pocketca ${crlEntries(join(home, 'crl.pem'))}, openssl ${crlEntries(join(dir, 'crl.pem'))}; PEM sizes ${size(join(home, 'crl.pem'))} and ${size(join(dir, 'crl.pem'))}.`,
  ]);
}

function list(ws: Workspace, o: Options, der: Buffer): ScenarioResult {
  log(`list: seeding ${LIST_RECORDS} certificates, ${LIST_REVOKED} of them revoked`);
  const home = initPocketcaHome(ws, 'list-home');
  seedHome({ dbPath: join(home, 'pocketca.db'), count: LIST_RECORDS, revoked: LIST_REVOKED, der, now: new Date() });
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
  return summarise('list', `5. list, ${LIST_RECORDS.toLocaleString('en')} recorded`, samples, [], [
    `stdout to a file; list --all --json printed ${listed} records, list --revoked ${rows} rows.`,
  ]);
}

function machine(loadAtStart: number): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const easyrsaVersion = /Version:\s*(\S+)/.exec(runOnce({ command: EASYRSA, args: ['--version'] }))?.[1] ?? 'unknown';
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
  try {
    accessSync(EASYRSA, constants.X_OK);
  } catch {
    missing.push(`easy-rsa, looked for at ${EASYRSA} (Debian/Ubuntu: apt-get install easy-rsa; or set EASYRSA_BIN to its easyrsa script)`);
  }
  if (o.only.has('crl') && !canMeasureMemory()) {
    missing.push(`GNU time, looked for at ${GNU_TIME}, for the CRL's peak memory (Debian/Ubuntu: apt-get install time; or set GNU_TIME_BIN)`);
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
  log(`working in ${ws.dir}${o.quick ? ' (quick)' : ''}`);
  const scenarios: ScenarioResult[] = [];
  try {
    const csr = ws.path('device.csr');
    runOnce(openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', ws.path('device.key'), '-subj', '/CN=device', '-out', csr]));
    if (o.only.has('startup')) {
      log(`startup: ${o.runs * 2} runs each`);
      scenarios.push(startup(ws, o));
    }
    if (o.only.has('issue') || o.only.has('sign')) {
      const r = issue(ws, o, csr);
      if (r.issue) scenarios.push(r.issue);
      if (r.sign) scenarios.push(r.sign);
    }
    if (o.only.has('revoke') || o.only.has('crl') || o.only.has('list')) {
      const der = someCertificateDer(ws, initPocketcaHome(ws, 'seed-home'));
      if (o.only.has('revoke')) scenarios.push(revoke(ws, o, csr, der));
      if (o.only.has('crl')) scenarios.push(crl(ws, o, der));
      if (o.only.has('list')) scenarios.push(list(ws, o, der));
    }
  } finally {
    if (process.env.BENCH_KEEP === '1') log(`kept ${ws.dir}`);
    else rmSync(ws.dir, { recursive: true, force: true });
  }

  const m = machine(loadAtStart);
  const goals = evaluate(GOALS, scenarios);
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  process.stdout.write(`${formatScenarios(scenarios)}\n\n${formatGoals(goals)}\n\nMachine: ${formatMachine(m)}. ${new Date().toISOString().slice(0, 10)}, ${minutes} min.\n`);
  for (const s of scenarios) for (const note of s.notes) process.stdout.write(`- ${s.title}: ${note}\n`);
  if (o.quick) {
    log('quick run: results not written');
    return;
  }
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const document = { date: new Date().toISOString(), minutes: Number(minutes), machine: m, runs: o.runs, scenarios, goals };
  writeFileSync(join(dir, 'latest.json'), JSON.stringify(document, null, 2) + '\n');
  log(`wrote ${join(dir, 'latest.json')}`);
}

main();
