/**
 * The commander program and the only catch: a domain error becomes
 * `error: <cause>` (+ `hint: <fix>`) on stderr and an exit code. Commands are
 * loaded on demand so `pocketca --version` pays for none of them.
 */
import { Command, CommanderError, Option } from 'commander';
import { PocketcaError, StalledError } from '../errors';
import { asDatabaseError } from '../store/sqlite-errors';
import { asFilesystemError } from '../host/output-target';
import { commandOf } from './argv';
import { COMMAND_NAMES, registerCommands } from './commands';
import { fitText, helpWidthOf, widthOf } from './layout';
import { openHomes } from './runtime';

/** `error: <cause>` and `hint: <fix>` on stderr, fitted to its terminal: how every failure is told. */
function printError(message: string, hint?: string): void {
  const lines = [`error: ${message}`, ...(hint ? [`hint: ${hint}`] : [])];
  process.stderr.write(fitText(lines.join('\n'), widthOf(process.stderr)) + '\n');
}

/** The program for `argv` (process.argv: node, script, arguments); without it, with every command. */
export function buildProgram(argv?: readonly string[]): Command {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const version = (require('../../../package.json') as { version: string }).version;
  const program = new Command('pocketca')
    .description('A private certificate authority for TLS client certificates (mTLS) on your own services.')
    .version(version, '-V, --version')
    // -v too, as most tools take it; no command has a -v of its own.
    .addOption(new Option('-v', 'output the version number').hideHelp())
    .option('--home <dir>', 'the CA home (default: $POCKETCA_HOME, else ~/.pocketca)')
    .option('--json', 'print the result as one JSON document')
    .option('-q, --quiet', 'print only results and errors')
    .option('--no-color', 'no colours in output')
    .option('-y, --yes', 'answer yes to confirmations')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    // Help at most 80 columns wide (layout.ts), the text added after it fitted too.
    // Commander's own errors are printed by report() in the error:/hint: form.
    .configureOutput({
      writeOut: (text) => process.stdout.write(fitText(text, helpWidthOf(process.stdout))),
      writeErr: (text) => process.stderr.write(fitText(text, helpWidthOf(process.stderr))),
      getOutHelpWidth: () => helpWidthOf(process.stdout),
      getErrHelpWidth: () => helpWidthOf(process.stderr),
      outputError: () => undefined,
    })
    .exitOverride();
  program.on('option:v', () => {
    process.stdout.write(`${version}\n`);
    throw new CommanderError(0, 'commander.version', version);
  });
  registerCommands(program, argv ? commandOf(argv.slice(2)) : undefined, { fullProgram: () => buildProgram() });
  program.commands.forEach((c) => c.exitOverride());
  return program;
}

/**
 * Commander's parse errors in pocketca's voice: `error: unknown option
 * '--nmae'` and its `(Did you mean --name?)` become an error: line and a
 * hint: line naming the help to read.
 */
function reportUsage(error: CommanderError, argv: readonly string[]): number {
  const [first = '', ...rest] = error.message.split('\n');
  const word = commandOf(argv.slice(2));
  const known = word !== undefined && (COMMAND_NAMES as readonly string[]).includes(word);
  const help = known ? `pocketca ${word} --help` : 'pocketca --help';
  const suggestion = /\(Did you mean (.+)\?\)/.exec(rest.join(' '))?.[1];
  // "option '--bind <addr>' argument 'x' is invalid. --bind needs ..." -> "--bind needs ... (got "x")": the parser's own words first.
  const invalid = /^error: (?:option '[^']*' argument|command-argument value) '(.*)' is invalid(?: for argument '[^']*')?\. (.+)$/s.exec(first);
  const message = invalid ? `${invalid[2]} (got ${JSON.stringify(invalid[1])})` : first.replace(/^error: /, '');
  printError(message, suggestion ? `did you mean ${suggestion}? (${help} shows the usage)` : `${help} shows the usage`);
  return 2;
}

function report(thrown: unknown, argv: readonly string[] = []): number {
  const debug = process.env.POCKETCA_DEBUG === '1';
  // A damaged or locked database surfaces on whichever query meets it.
  const error = asDatabaseError(thrown, openHomes[0]?.dbPath) ?? asFilesystemError(thrown) ?? thrown;
  if (error instanceof CommanderError) {
    // `pocketca` alone: the help went to stderr, and no command ran: bad usage, as for any missing argument.
    if (error.code === 'commander.help' && error.exitCode !== 0) return 2;
    // Help and --version "errors" are successes; every other commander error is bad usage.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    return reportUsage(error, argv);
  }
  if (error instanceof PocketcaError) {
    printError(error.message, error.hint);
    if (debug) process.stderr.write(`${(thrown as Error).stack ?? error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  printError(`internal error: ${message}`, debug ? undefined : 're-run with POCKETCA_DEBUG=1 and report the output');
  if (debug) process.stderr.write(`${(error as Error)?.stack}\n`);
  return 70;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(argv);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    const code = report(error, argv);
    if (error instanceof StalledError) {
      // What stalled (a write stuck on the thread pool, a reply that never comes) may never end:
      // the process exits now, its home closed, instead of when that work does.
      for (const home of openHomes.splice(0)) home.close();
      process.exit(code);
    }
    return code;
  } finally {
    for (const home of openHomes.splice(0)) home.close();
  }
}

/** The entry point of bin/pocketca; the only place that sets the exit code. */
export function run(argv: string[]): void {
  // `pocketca list --json | head`: the reader left; that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.exitCode = report(error);
    },
  );
}
