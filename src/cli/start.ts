/**
 * What bin/pocketca runs first: the work that can begin before the program
 * loads. commander and the command modules cost more than Node's own start-up
 * (issue 6), so `--version` answers without them, and `issue` starts its key
 * generation on the thread pool before them. Only a hint is taken from argv
 * here; commander still parses it, and a key started for nothing is dropped.
 */
import type { run as Run } from './main';
import { startRsaKey } from '../app/rsa-keys';

/** Global options that take a value (main.ts), to find the command word. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--home']);
const KEY_SIZES = new Set([2048, 3072, 4096]);

/** The command word: the first argument that is neither a global option nor its value. */
function commandOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (GLOBAL_OPTIONS_WITH_VALUE.has(args[i]!)) i++;
    else if (!args[i]!.startsWith('-')) return args[i];
  }
  return undefined;
}

/** `issue`'s --key-size (default 2048, SPEC), when it is one it accepts. */
function issueKeySize(args: readonly string[]): number | undefined {
  let size = 2048;
  args.forEach((arg, i) => {
    if (arg === '--key-size') size = Number(args[i + 1]);
    else if (arg.startsWith('--key-size=')) size = Number(arg.slice('--key-size='.length));
  });
  return KEY_SIZES.has(size) ? size : undefined;
}

export function start(argv: string[]): void {
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    // What commander prints for it: the version and a newline.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    process.stdout.write(`${(require('../../../package.json') as { version: string }).version}\n`);
    return;
  }
  if (commandOf(args) === 'issue' && !args.includes('--help') && !args.includes('-h')) {
    const bits = issueKeySize(args);
    if (bits) startRsaKey(bits);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('./main') as { run: typeof Run }).run(argv);
}
