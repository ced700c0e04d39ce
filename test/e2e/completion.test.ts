/**
 * `pocketca completion bash|zsh|fish` and the man page (issue 10), both made
 * from the commander definitions behind --help. The bash script is sourced
 * in a real bash and asked for completions the way readline asks; fish's own
 * `complete -C` answers for the fish script; zsh checks its syntax and
 * registers it with compinit. The committed man/pocketca.1 must equal a fresh
 * one (so a new option without `npm run man` fails here), and man-db/groff
 * format it without a warning. Where a command takes SERIAL|NAME, the three
 * shells complete the recorded names (issue 20), read without a passphrase.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BIN, createTestCa, pocketca, ROOT, tempDir, tool, type TestCa } from '../helpers/cli';
import { requireTool } from '../helpers/tools';

function script(t: TestContext, shell: string): string {
  const r = pocketca(['completion', shell]);
  assert.equal(r.code, 0, r.stderr);
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, `pocketca.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}

/** The commands `pocketca --help` lists. */
function helpCommands(): string[] {
  const help = pocketca(['--help']).stdout;
  const section = help.slice(help.indexOf('Commands:'));
  return [...section.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
}

/** What bash's completion function offers for the words typed so far (the last one being completed). */
function bashComplete(file: string, words: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const r = tool('bash', ['--norc', '-c', `source "$1"; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _pocketca; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', file], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  return r.stdout.split('\n').filter(Boolean);
}

test('completion bash, sourced in bash: commands, options, fixed values, after global options', (t) => {
  const file = script(t, 'bash');
  assert.equal(tool('bash', ['-n', file]).code, 0);
  const commands = helpCommands();
  assert.ok(commands.length >= 18 && commands.includes('completion'), commands.join(' '));
  assert.deepEqual(bashComplete(file, ['pocketca', '']), commands, 'every command --help lists, in its order');
  const cases: [string[], string[]][] = [
    [['pocketca', 'is'], ['issue']],
    [['pocketca', '--home', '/media/usb/ca', 're'], ['revoke', 'renew', 'restore', 'remind']],
    [['pocketca', 'issue', '--pro'], ['--profile', '--profile-password']],
    [['pocketca', 'issue', 'alice', '--profile', ''], ['client', 'server']],
    [['pocketca', 'revoke', 'alice', '--reason', 'k'], ['keyCompromise']],
    [['pocketca', 'proxy', ''], ['nginx', 'apache', 'mosquitto']],
    [['pocketca', 'completion', ''], ['bash', 'zsh', 'fish']],
    [['pocketca', 'init', '--key-size', ''], ['2048', '3072', '4096']],
    [['pocketca', 'share', 'x.p12', '--q'], ['--quiet']],
    [['pocketca', 'issue', 'alice', '--out-dir', ''], []], // a path: bash's own file completion (complete -o default)
  ];
  for (const [words, expected] of cases) assert.deepEqual(bashComplete(file, words), expected, words.join(' '));
  // Every option of every command is offered (compare with each command's --help).
  for (const command of commands) {
    const help = pocketca([command, '--help']).stdout;
    const flags = [...help.matchAll(/^ {2}(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1]!);
    const offered = bashComplete(file, ['pocketca', command, '--']);
    for (const flag of flags) assert.ok(offered.includes(flag), `${command} ${flag}`);
  }
  assert.match(readFileSync(file, 'utf8'), /^complete -o bashdefault -o default -F _pocketca pocketca$/m);
});

test('completion fish answers fish\'s own complete -C', (t) => {
  if (!requireTool(t, 'fish')) return;
  const file = script(t, 'fish');
  assert.equal(tool('fish', ['--no-execute', file]).code, 0, 'fish parses it');
  const ask = (line: string) => {
    const r = tool('fish', ['--no-config', '-c', `source $argv[1]; complete -C '${line}'`, file]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
  };
  assert.deepEqual(ask('pocketca is'), ['issue']);
  assert.deepEqual(ask('pocketca issue --profile '), ['client', 'server']);
  assert.ok(ask('pocketca revoke x --reason ').includes('keyCompromise'));
  assert.deepEqual(ask('pocketca proxy ').sort(), ['apache', 'mosquitto', 'nginx']);
  assert.ok(ask('pocketca share x --').includes('--max-downloads'));
  assert.deepEqual(ask('pocketca ').sort(), helpCommands().sort());
});

test('completion zsh is valid zsh and registers with compinit', (t) => {
  if (!requireTool(t, 'zsh')) return;
  const file = script(t, 'zsh');
  const syntax = tool('zsh', ['-n', file]);
  assert.equal(syntax.code, 0, syntax.stderr);
  const dump = join(file, '..', 'zcompdump');
  const r = tool('zsh', ['-f', '-c', `autoload -Uz compinit && compinit -u -d ${dump} && source ${file} && print -r -- $_comps[pocketca] && whence -w _pocketca`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '_pocketca\n_pocketca: function\n');
  assert.match(readFileSync(file, 'utf8'), /'--reason\[[^\]]*\]:reason:\(unspecified keyCompromise cACompromise affiliationChanged superseded cessationOfOperation privilegeWithdrawn\)'/);
});

test("completion zsh installed as its --help says (~/.zfunc on fpath before compinit) is autoloaded", (t) => {
  if (!requireTool(t, 'zsh')) return;
  const help = pocketca(['completion', '--help']).stdout;
  const install = /^ {2}(mkdir -p ~\/\.zfunc && pocketca completion zsh > ~\/\.zfunc\/_pocketca)$/m.exec(help)?.[1];
  const zshrc = /^ {6}# zsh; in ~\/\.zshrc, before compinit: (fpath=\(~\/\.zfunc \$fpath\))$/m.exec(help)?.[1];
  assert.ok(install && zshrc, help);
  const home = tempDir();
  t.after(() => rmSync(home, { recursive: true, force: true }));
  // The documented line as a user runs it, with `pocketca` the program under test.
  const r = tool('bash', ['-c', `node="$0" bin="$1"\npocketca() { "$node" "$bin" "$@"; }\n${install}`, process.execPath, BIN], { env: { ...process.env, HOME: home } });
  assert.equal(r.code, 0, r.stderr);
  const zsh = tool('zsh', ['-f', '-c', `${zshrc}; autoload -Uz compinit && compinit -u -d ~/zcompdump && print -r -- $_comps[pocketca]`], { env: { ...process.env, HOME: home } });
  assert.equal(zsh.code, 0, zsh.stderr);
  assert.equal(zsh.stdout, '_pocketca\n');
});

test('completion refuses an unknown shell with exit 2', () => {
  const r = pocketca(['completion', 'tcsh']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /<shell> must be one of: bash, zsh, fish/);
});

test('man/pocketca.1 is what `npm run man` makes from the current commands, and it is in the package', () => {
  const check = tool(process.execPath, [join(ROOT, 'scripts', 'man.js'), '--check']);
  assert.equal(check.code, 0, `${check.stderr}(the committed man page is out of date: npm run man)`);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.deepEqual(pkg.man, ['./man/pocketca.1']);
  assert.ok(pkg.files.includes('man/'));
  const page = readFileSync(join(ROOT, 'man', 'pocketca.1'), 'utf8');
  for (const command of helpCommands()) assert.match(page, new RegExp(`^\\.SS "pocketca ${command} `, 'm'), command);
  // A manual first: the overview and the workflow, then the reference; the exit codes once, not in every command.
  const sections = [...page.matchAll(/^\.SH (.+)$/gm)].map((m) => m[1]!);
  assert.deepEqual(sections.slice(0, 6), ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'WORKFLOW', 'GLOBAL OPTIONS', 'COMMANDS'], sections.join(', '));
  assert.equal(sections.filter((s) => s === 'EXIT STATUS').length, 1, sections.join(', '));
  assert.doesNotMatch(page, /Exit codes:/, 'no command section repeats the exit codes');
  assert.ok(pocketca(['issue', '--help']).stdout.includes('Exit codes:'), '--help still ends with them');
  const exitStatus = page.slice(page.indexOf('.SH EXIT STATUS'));
  assert.match(exitStatus, /^\.B pocketca share$/m, "share's own codes are there");
});

test('man formats the page without a warning', (t) => {
  if (!requireTool(t, 'man')) return;
  const r = tool('man', ['--warnings', '-l', join(ROOT, 'man', 'pocketca.1')], { env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'no troff warnings');
  const text = r.stdout.replace(/.\u0008/g, '');
  assert.match(text, /^SYNOPSIS$/m);
  assert.match(text, /pocketca revoke \[options\] <serial\|name>/);
  assert.match(text, /--p12-format <format>/);
  assert.match(text, /pocketca completion \[options\] <shell>/);
  // The help texts are set out 1 column, so they are as wide on the page as in --help.
  assert.match(text, /^ {3}pocketca revoke alice-iphone --reason keyCompromise$/m);
});

/** A directory with a `pocketca` on it (bin/pocketca under this node), for the shells to call by name. */
function onPath(t: TestContext): string {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const wrapper = join(dir, 'pocketca');
  writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  return `${dir}:${dirname(process.execPath)}:${process.env.PATH}`;
}

function homeWithNames(t: TestContext): TestCa {
  const ca = createTestCa();
  t.after(() => ca.cleanup());
  ca.ok(['issue', 'carol-iphone', '--key-type', 'ec']);
  ca.ok(['issue', 'cloud', '--profile', 'server', '--dns', 'cloud.home.arpa', '--key-type', 'ec']);
  return ca;
}

test('completion: revoke, renew and show complete the recorded names in bash, not files; fast, no passphrase, nothing written', (t) => {
  const ca = homeWithNames(t);
  const PATH = onPath(t);
  const file = script(t, 'bash');
  const complete = (words: string[], env: Record<string, string> = {}) => bashComplete(file, words, { ...process.env, PATH, POCKETCA_PASSPHRASE: '', ...env });
  const db = join(ca.home, 'pocketca.db');
  const before = readFileSync(db);
  for (const command of ['revoke', 'renew', 'show']) {
    assert.deepEqual(complete(['pocketca', '--home', ca.home, command, '']), ['carol-iphone', 'cloud'], command);
    assert.deepEqual(complete(['pocketca', command, '--home', ca.home, 'ca']), ['carol-iphone'], `${command}, after --home`);
  }
  assert.deepEqual(complete(['pocketca', 'show', 'cl'], { POCKETCA_HOME: ca.home }), ['cloud'], '$POCKETCA_HOME');
  assert.deepEqual(complete(['pocketca', 'show', ''], { POCKETCA_HOME: join(ca.dir, 'nowhere') }), [], 'no home: no names, no error');
  assert.ok(readFileSync(db).equals(before), 'the database is unchanged');

  // What the scripts run: answered before the program loads, no passphrase.
  const start = process.hrtime.bigint();
  const r = pocketca(['__complete', 'names', '--home', ca.home]);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  assert.equal(r.stdout, 'carol-iphone\ncloud\n');
  assert.equal(r.stderr, '');
  t.diagnostic(`pocketca __complete names: ${ms.toFixed(0)} ms`);
  assert.ok(ms < 5000, `${ms} ms`);
});

test('completion: fish and zsh complete the recorded names for SERIAL|NAME', (t) => {
  const ca = homeWithNames(t);
  const PATH = onPath(t);
  const env = { ...process.env, PATH };
  if (requireTool(t, 'fish')) {
    const file = script(t, 'fish');
    const ask = (line: string) => {
      const r = tool('fish', ['--no-config', '-c', `source $argv[1]; complete -C '${line}'`, file], { env });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
    };
    assert.deepEqual(ask(`pocketca --home ${ca.home} revoke `).sort(), ['carol-iphone', 'cloud']);
    assert.deepEqual(ask(`pocketca show --home=${ca.home} ca`), ['carol-iphone']);
  }
  if (requireTool(t, 'zsh')) {
    const file = script(t, 'zsh');
    // The function the revoke/renew/show specs call, with compadd standing in for the completion system.
    const r = tool('zsh', ['-f', '-c', `source ${file} 2>/dev/null; compadd() { print -rl -- \${(P)2} }; typeset -A opt_args; opt_args[--home]=${ca.home}; pocketca_command=pocketca; _pocketca_names`], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'carol-iphone\ncloud\n');
    assert.equal(readFileSync(file, 'utf8').match(/'1:serial\|name:_pocketca_names'/g)?.length, 3, 'revoke, renew and show');
  }
});
