/**
 * The documentation against the tool. README.md and docs/*.md are for users,
 * who paste their command lines and trust the file names they promise:
 *
 * - every ```sh block runs, page by page, top to bottom in one bash, in a
 *   temporary directory with a temporary HOME (so the CA home is
 *   ~/.pocketca there, made first unless the page makes it) and the CA
 *   passphrase in $POCKETCA_PASSPHRASE, with `pocketca` the program under
 *   test; each command must exit 0. A block that waits for a phone, needs
 *   root, a real proxy or the network is marked
 *   `<!-- docs-test: skip (why) -->` right before it: those are counted and
 *   printed;
 * - a command line whose comment says `# writes FILES` must write exactly
 *   those new files (others may be replaced), so `issue` cannot be said to
 *   write NAME.key.pem without --keep-key, nor be said to skip NAME.pem;
 * - no paragraph says `issue` writes a client's .p12 or profile and a
 *   NAME.key.pem without naming --keep-key;
 * - every `pocketca COMMAND` and every option the docs (and the man page's
 *   WORKFLOW) name exists in that command's --help; every command has a row
 *   in docs/commands.md; links between the pages resolve;
 * - the README is a front page (at most 250 lines, `npm test`, no history),
 *   performance.md shows bench/results/latest.json, and the shell completion
 *   lines are those of `pocketca completion --help`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BIN, cleanEnv, PASSPHRASE, pocketca, pocketcaAsync, ROOT, tempDir, tool } from '../helpers/cli';
import {
  codeSpans,
  docPages,
  fencedBlocks,
  headingAnchors,
  optionsIn,
  pocketcaUses,
  promisedFiles,
  proseParagraphs,
  relativeLinks,
  shellCommands,
  type DocPage,
  type FencedBlock,
  type PocketcaUse,
  type ShellCommand,
} from '../helpers/doc-pages';
import { formatGoals, formatMachine, formatScenarios } from '../../bench/report';
import { WORKFLOW } from '../../src/cli/man-page';

const pages = docPages();
/** A page takes a few seconds on an idle machine; this only stops one that hangs (a command waiting for a phone). */
const PAGE_TIMEOUT_MS = 180_000;

/** What one page's run found. */
interface PageRun {
  page: string;
  /** The commands run (the CA made first not counted). */
  ran: number;
  skipped: { where: string; reason: string }[];
  /** Exit code, stderr tail and the command that failed, when one did. */
  failure?: string;
  /** `# writes` promises: each file, whether it exists, and new files no promise named. */
  writes: { where: string; promised: { file: string; exists: boolean }[]; unpromised: string[] }[];
}

/** Quote for bash. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The bash script for a page's runnable blocks: each command is announced
 * (so a failure names its line), and one with a `# writes` comment is
 * surrounded by a listing of the files before and after it.
 */
function pageScript(blocks: FencedBlock[], state: string, makeCa: boolean): string {
  const out = [
    // As in a user's shell: a failing command stops the page, a pipeline's status is its last command's.
    'set -e',
    `__state=${sq(state)}`,
    `trap 'echo "docs-test: exit $? at $__where: $BASH_COMMAND" >&2' ERR`,
    '__files() { find . -type f -print | LC_ALL=C sort > "$1"; }',
    // Into $__state/writes: each promised file as the shell reads it (~, $(...)) and whether it
    // is there (P), then each file under the current directory that is new since __files (N).
    '__writes() {',
    '  local f',
    '  for f in "$@"; do',
    '    printf "P\\t%s\\t%s\\t%s\\n" "$__where" "$(realpath -m -- "$f")" "$([ -e "$f" ] && echo 1 || echo 0)"',
    '  done >> "$__state/writes"',
    '  __files "$__state/after"',
    '  LC_ALL=C comm -13 "$__state/before" "$__state/after" | while IFS= read -r f; do',
    '    printf "N\\t%s\\t%s\\n" "$__where" "$(realpath -m -- "$f")"',
    '  done >> "$__state/writes"',
    '  printf "E\\t%s\\n" "$__where" >> "$__state/writes"',
    '}',
  ];
  if (makeCa) out.push("__where='(the CA the page assumes)'", 'pocketca init --key-size 2048 -q');
  for (const block of blocks) {
    for (const command of shellCommands(block)) {
      const files = promisedFiles(command.comment);
      out.push(`__where=${sq(command.where)}`);
      if (files) out.push(`__files "$__state/before"`);
      out.push(command.code);
      if (files) out.push(`__writes ${files.join(' ')}`);
      out.push(`echo x >> "$__state/ran"`);
    }
  }
  return out.join('\n') + '\n';
}

/** Run a page's blocks in a fresh directory and HOME; resolves with what happened. */
async function runPage(page: DocPage): Promise<PageRun> {
  const blocks = fencedBlocks(page).filter((b) => b.lang === 'sh');
  const skipped = blocks.filter((b) => b.skip !== undefined).map((b) => ({ where: `${b.page}:${b.line - 1}`, reason: b.skip! }));
  const runnable = blocks.filter((b) => b.skip === undefined);
  const run: PageRun = { page: page.path, ran: 0, skipped, writes: [] };
  if (runnable.length === 0) return run;
  const dir = tempDir('pocketca-docs-');
  try {
    const [home, work, bin, state] = ['home', 'work', 'bin', 'state'].map((d) => join(dir, d));
    for (const d of [home, work, bin, state]) mkdirSync(d);
    writeFileSync(join(bin, 'pocketca'), `#!/bin/sh\nexec ${sq(process.execPath)} ${sq(BIN)} "$@"\n`);
    chmodSync(join(bin, 'pocketca'), 0o755);
    // The page makes its CA, or it assumes one in ~/.pocketca (made as the README says).
    const uses = runnable.flatMap(shellCommands).flatMap((c) => pocketcaUses(c.code, c.where));
    const makesCa = uses.some((u) => u.command === 'init' && !u.globals.includes('--home') && !u.words.includes('--home'));
    const usesHome = uses.some((u) => u.command !== undefined && !u.globals.includes('--home') && !u.words.includes('--home'));
    const script = join(state, 'page.sh');
    writeFileSync(script, pageScript(runnable, state, usesHome && !makesCa));
    const env = cleanEnv({ HOME: home, PATH: `${bin}:${process.env.PATH}`, POCKETCA_PASSPHRASE: PASSPHRASE, TERM: 'dumb' });
    const result = await new Promise<{ code: number | null; stderr: string }>((resolvePromise, reject) => {
      const child = spawn('bash', ['--noprofile', '--norc', script], { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), PAGE_TIMEOUT_MS);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolvePromise({ code, stderr });
      });
    });
    run.ran = existsSync(join(state, 'ran')) ? readFileSync(join(state, 'ran'), 'utf8').split('\n').filter(Boolean).length : 0;
    if (result.code !== 0) {
      const at = /docs-test: exit \d+ at (.*)$/m.exec(result.stderr)?.[1] ?? `(no command named: killed after ${PAGE_TIMEOUT_MS / 1000} s?)`;
      run.failure = `${page.path}: exit ${result.code} at ${at}\n${result.stderr.split('\n').slice(-12).join('\n')}`;
    }
    if (existsSync(join(state, 'writes'))) {
      let current: PageRun['writes'][number] | undefined;
      for (const line of readFileSync(join(state, 'writes'), 'utf8').split('\n').filter(Boolean)) {
        const [kind, where, path, exists] = line.split('\t');
        if (!current) run.writes.push((current = { where: where!, promised: [], unpromised: [] }));
        if (kind === 'P') current.promised.push({ file: path!, exists: exists === '1' });
        if (kind === 'N' && !current.promised.some((p) => p.file === path)) current.unpromised.push(path!.replace(`${dir}/`, ''));
        if (kind === 'E') current = undefined;
      }
      for (const w of run.writes) for (const p of w.promised) p.file = p.file.replace(`${dir}/`, '');
    }
    return run;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Run the pages two at a time (the machine may have two cores). */
async function runPages(list: DocPage[]): Promise<PageRun[]> {
  const results: PageRun[] = new Array(list.length);
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const i = next++;
      results[i] = await runPage(list[i]!);
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

let pageRuns: Promise<PageRun[]> | undefined;
const allRuns = () => (pageRuns ??= runPages(pages));

/** What went wrong with the `# writes` promises of some runs, one line each. */
function brokenPromises(runs: PageRun[]): string[] {
  return runs.flatMap((r) =>
    r.writes.flatMap((w) => [
      ...w.promised.filter((p) => !p.exists).map((p) => `${w.where}: says it writes ${p.file}, which is not there`),
      ...w.unpromised.map((f) => `${w.where}: writes ${f}, which the comment does not name`),
    ]),
  );
}

test('the shell lines of the README and docs/ run as written, each exiting 0; the skipped blocks say why', { timeout: 600_000 }, async (t) => {
  const runs = await allRuns();
  const failures = runs.flatMap((r) => (r.failure ? [r.failure] : []));
  const skipped = runs.flatMap((r) => r.skipped);
  for (const r of runs) t.diagnostic(`${r.page}: ran ${r.ran} command lines, skipped ${r.skipped.length} blocks`);
  t.diagnostic(`skipped ${skipped.length} blocks:`);
  for (const s of skipped) t.diagnostic(`  ${s.where}: ${s.reason}`);
  assert.deepEqual(failures, []);
  assert.ok(runs.reduce((n, r) => n + r.ran, 0) >= 60, 'most of the documented command lines run');
  for (const page of ['README.md', 'docs/phone.md', 'docs/server.md', 'docs/backups.md', 'docs/commands.md']) {
    assert.ok(runs.find((r) => r.page === page)!.ran > 0, `${page} has command lines that run`);
  }
});

test('every file a documented command line says it writes is written, and no other new one', async () => {
  const runs = await allRuns();
  assert.deepEqual(brokenPromises(runs), []);
  const promised = runs.flatMap((r) => r.writes.flatMap((w) => w.promised.map((p) => p.file)));
  // The outputs of every writer are promised somewhere: the files `issue` writes for a client and a server among them.
  for (const name of [/\/alice-iphone\.p12$/, /\/alice-iphone\.mobileconfig$/, /\/alice-iphone\.pem$/, /\/cloud\.key\.pem$/, /\/cloud\.fullchain\.pem$/, /\/bob-laptop\.key\.pem$/, /passwords\.csv$/, /\.backup$/, /nginx-.*\.conf$/, /mosquitto-.*\.conf$/, /websocket-token\.js$/, /websocket-token\.lua$/]) {
    assert.ok(promised.some((f) => name.test(f)), `a documented command promises ${name}`);
  }
});

/** Paragraphs (and commands with their comments) that say `issue` writes a client's key file without --keep-key. */
function keyFileClaims(list: DocPage[]): string[] {
  const prose = list.flatMap((page) =>
    proseParagraphs(page).filter((p) => {
      const spans = codeSpans(p.text);
      return spans.some((s) => /^(pocketca )?issue\b/.test(s)) && /\.(p12|mobileconfig)\b/.test(p.text) && /\.key\.pem\b/.test(p.text) && !p.text.includes('--keep-key');
    }).map((p) => `${p.where}: ${p.text}`),
  );
  const code = list.flatMap((page) =>
    fencedBlocks(page)
      .filter((b) => b.lang === 'sh')
      .flatMap(shellCommands)
      .filter((c: ShellCommand) => pocketcaUses(c.code, c.where).some((u) => u.command === 'issue' && !u.words.includes('--keep-key') && !u.words.includes('server')) && /\.key\.pem\b/.test(c.comment))
      .map((c) => `${c.where}: ${c.code}  # ${c.comment}`),
  );
  return [...prose, ...code];
}

test('no page says issue writes a client NAME.key.pem without --keep-key', () => {
  assert.deepEqual(keyFileClaims(pages), []);
});

test('the checks catch the README that said issue writes NAME.key.pem: in prose, and in a command line that is run', async () => {
  const old: DocPage = {
    path: 'old-README.md',
    text: [
      '`issue` writes the device\'s files (`NAME.p12`, `NAME.mobileconfig`,',
      '`NAME.key.pem`) into the current directory.',
      '',
      '```sh',
      'pocketca issue alice-iphone   # writes alice-iphone.p12, alice-iphone.mobileconfig, alice-iphone.key.pem',
      '```',
      '',
    ].join('\n'),
  };
  assert.equal(keyFileClaims([old]).length, 2, keyFileClaims([old]).join('\n'));
  const [run] = await runPages([old]);
  assert.equal(run!.failure, undefined);
  assert.deepEqual(
    brokenPromises([run!]).map((l) => l.replace(/ \S*\//, ' ')),
    ['old-README.md:5: says it writes alice-iphone.key.pem, which is not there', 'old-README.md:5: writes alice-iphone.pem, which the comment does not name'],
  );
});

let helps: ReturnType<typeof readHelp> | undefined;
const helpOptions = () => (helps ??= readHelp());

/** The commands `pocketca --help` lists, and each one's options (the global ones included) from its --help. */
async function readHelp(): Promise<{ global: Set<string>; commands: Map<string, Set<string>> }> {
  const options = (help: string) => new Set([...help.matchAll(/^ {2}(?:(-\w), )?(--[a-z0-9-]+)/gm)].flatMap((m) => [m[1], m[2]].filter((o): o is string => Boolean(o))));
  const top = pocketca(['--help']);
  assert.equal(top.code, 0, top.stderr);
  const names = [...top.stdout.slice(top.stdout.indexOf('Commands:')).matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
  const helps = await Promise.all(names.map((c) => pocketcaAsync([c, '--help'])));
  return { global: options(top.stdout), commands: new Map(names.map((c, i) => [c, options(helps[i]!.stdout)])) };
}

/**
 * Every use of `pocketca` in the docs: in shell blocks (skipped ones too), in
 * inline code (where `issue --keep-key` means `pocketca issue --keep-key`),
 * and in the man page's WORKFLOW.
 */
function documentedUses(commandNames: Set<string>): PocketcaUse[] {
  const uses: PocketcaUse[] = [];
  for (const page of pages) {
    for (const block of fencedBlocks(page)) {
      if (block.lang === 'sh') uses.push(...shellCommands(block).flatMap((c) => pocketcaUses(c.code, c.where)));
      else assert.doesNotMatch(block.body, /^\s*pocketca /m, `${page.path}:${block.line}: pocketca commands go in a sh block, where the test runs them`);
    }
    for (const p of proseParagraphs(page)) {
      for (const span of codeSpans(p.text)) uses.push(...pocketcaUses(commandNames.has(span.split(/\s/)[0]!) ? `pocketca ${span}` : span, p.where));
    }
  }
  WORKFLOW.forEach((w, i) => uses.push(...pocketcaUses(w.commands.join('\n').replace(/\\\n/g, ' ').replace(/\n/g, ';'), `man page WORKFLOW ${i + 1}`)));
  return uses;
}

test('every pocketca command and option the docs and the man page workflow name is in its --help; every command is in docs/commands.md', async () => {
  const { global, commands } = await helpOptions();
  const uses = documentedUses(new Set(commands.keys()));
  assert.ok(uses.length >= 150, `${uses.length} uses of pocketca found`);
  const problems: string[] = [];
  const placeholder = /^(COMMAND|<[a-z]+>|\.\.\.)$/;
  for (const u of uses) {
    for (const o of optionsIn(u.globals)) if (!global.has(o)) problems.push(`${u.where}: pocketca ${o} is not in pocketca --help`);
    if (u.command === undefined || placeholder.test(u.command)) continue;
    const known = commands.get(u.command);
    if (!known) {
      problems.push(`${u.where}: pocketca ${u.command} is not a command`);
      continue;
    }
    for (const o of optionsIn(u.words)) if (!known.has(o)) problems.push(`${u.where}: pocketca ${u.command} ${o} is not in pocketca ${u.command} --help`);
  }
  // An option named alone in the prose (`--keep-key`) belongs to some command.
  const all = new Set([...global, ...[...commands.values()].flatMap((s) => [...s])]);
  for (const page of pages) {
    for (const p of proseParagraphs(page)) {
      for (const span of codeSpans(p.text)) {
        if (!/^-/.test(span)) continue;
        for (const o of optionsIn(span.split(/\s+/).slice(0, 1))) if (!all.has(o)) problems.push(`${p.where}: ${o} is no option of pocketca`);
      }
    }
  }
  assert.deepEqual(problems, []);
  const reference = pages.find((p) => p.path === 'docs/commands.md')!.text;
  for (const command of commands.keys()) assert.match(reference, new RegExp(`^\\| \`${command}\\b`, 'm'), `docs/commands.md has a row for ${command}`);
});

test('every option of every command is named in the docs, with its command or in its row of docs/commands.md', async () => {
  const { global, commands } = await helpOptions();
  const uses = documentedUses(new Set(commands.keys()));
  const reference = pages.find((p) => p.path === 'docs/commands.md')!;
  // The secrets are named once, in a paragraph that lists the commands taking them.
  const secrets = (option: string) => proseParagraphs(reference).find((p) => p.text.includes(`\`${option} FILE\``))?.text ?? '';
  const missing: string[] = [];
  for (const [command, options] of commands) {
    const row = reference.text.split('\n').filter((l) => l.startsWith(`| \`${command}`)).join(' ');
    const named = new Set(uses.filter((u) => u.command === command).flatMap((u) => optionsIn(u.words)));
    for (const option of options) {
      if (global.has(option) || !option.startsWith('--')) continue;
      if (option === '--passphrase-file' || option === '--p12-password-file') {
        if (!new RegExp(`\`${command}( [^\`]*)?\``).test(secrets(option))) missing.push(`${command} ${option} (docs/commands.md, Secrets)`);
      } else if (!named.has(option) && !row.includes(option)) missing.push(`${command} ${option}`);
    }
  }
  assert.deepEqual(missing, [], 'options the docs never name');
});

test('links between the pages resolve, and docs/README.md lists every page', () => {
  const problems: string[] = [];
  for (const page of pages) {
    for (const link of relativeLinks(page)) {
      const target = link.target === '' ? page.path : join(dirname(page.path), link.target);
      if (!existsSync(join(ROOT, target))) {
        problems.push(`${link.where}: ${link.target} does not exist`);
        continue;
      }
      const linked = pages.find((p) => p.path === target);
      if (link.anchor && linked && !headingAnchors(linked).has(link.anchor)) problems.push(`${link.where}: ${target} has no heading #${link.anchor}`);
    }
  }
  assert.deepEqual(problems, []);
  const index = relativeLinks(pages.find((p) => p.path === 'docs/README.md')!).map((l) => `docs/${l.target}`);
  for (const page of pages.filter((p) => p.path.startsWith('docs/') && p.path !== 'docs/README.md')) assert.ok(index.includes(page.path), `docs/README.md links ${page.path}`);
});

test('the README is a front page: at most 250 lines, install and `npm test`, no development history', () => {
  const readme = pages.find((p) => p.path === 'README.md')!.text;
  assert.ok(readme.split('\n').length <= 250, `${readme.split('\n').length} lines`);
  assert.match(readme, /^npm test$/m);
  for (const needed of ['Node.js 20', 'python3', 'g++', '.ci/run', 'docs/README.md']) assert.ok(readme.includes(needed), needed);
  for (const page of pages) {
    assert.doesNotMatch(page.text, /\bSPEC\b/, `${page.path} names no SPEC file`);
    assert.doesNotMatch(page.text, /What changed|\bissues? #?\d+\b(?! (RSA|P-256))|\bcommit [0-9a-f]{7}/i, `${page.path} tells no development history`);
    assert.doesNotMatch(page.text, /`pocketca -v`/, `${page.path}: the version option is -V, as --help says`);
  }
});

test('docs/performance.md shows the figures of bench/results/latest.json', () => {
  const latest = JSON.parse(readFileSync(join(ROOT, 'bench', 'results', 'latest.json'), 'utf8'));
  const page = pages.find((p) => p.path === 'docs/performance.md')!.text;
  for (const [what, text] of [['the machine', formatMachine(latest.machine)], ['the scenarios', formatScenarios(latest.scenarios)], ['the targets', formatGoals(latest.goals)]]) {
    assert.ok(page.includes(text!), `docs/performance.md shows ${what} of the latest run:\n${text}`);
  }
  assert.ok(page.includes(latest.date.slice(0, 10)), 'and its date');
});

test("the shell completion lines are those of `pocketca completion --help`, and the README's alias works in the clone", () => {
  const help = pocketca(['completion', '--help']).stdout;
  const examples = help.slice(help.indexOf('Examples:')).split('\n\n')[0]!.split('\n').slice(1);
  const lines = examples.filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim().replace(/\s+#.*$/, ''));
  assert.ok(lines.length >= 3, help);
  const documented = pages.flatMap((p) => fencedBlocks(p).filter((b) => b.lang === 'sh').flatMap(shellCommands)).map((c) => c.code);
  for (const line of lines) assert.ok(documented.includes(line), `the docs show \`${line}\``);
  assert.ok(pages.some((p) => p.text.includes('fpath=(~/.zfunc $fpath)')), 'and the zsh fpath line');
  // The README's alias, run in the clone as a reader pastes it: then `pocketca` is this program.
  const alias = pages[0]!.text.match(/^alias pocketca=.*$/m)?.[0];
  assert.ok(alias, 'the README shows the alias');
  const r = tool('bash', ['-c', `shopt -s expand_aliases\n${alias}\npocketca --version`], { cwd: ROOT });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${require(join(ROOT, 'package.json')).version}\n`);
});
