/**
 * What bin/pocketca runs first: the work that can begin before the program
 * loads. commander and the command modules cost more than Node's own start-up
 * (issue 6), so `--version` answers without them, `issue` starts its key
 * generation on the thread pool before them, and the commands that unlock the
 * CA key start its scrypt there too (prefetchCaKey). Only a hint is
 * taken from argv here; commander still parses it, and work started for
 * nothing is dropped.
 *
 * Dropped, not stopped: an `issue` refused early (a name in use, a bad flag)
 * still ends only once its key is made (~40 ms at RSA-2048, up to a second at
 * 4096). Neither unref nor process.exit shortens that: Node's exit joins the
 * libuv thread pool (uv_library_shutdown) and worker threads, and OpenSSL's
 * prime search cannot be interrupted (measured, Node 20).
 */
import type { run as Run } from './main';
import { startKey } from '../host/key-pairs';
import { commandOf, prefetchCaKey } from './argv';

const KEY_SIZES = new Set([2048, 3072, 4096]);
/** The commands that unlock the CA key with --passphrase-file or POCKETCA_PASSPHRASE. */
const UNLOCKS_CA_KEY = new Set(['issue', 'sign', 'revoke', 'crl', 'renew', 'backup', 'enroll']);

/**
 * `issue`'s --key-size (default 2048, SPEC), when it is one it accepts and
 * the key is RSA: an EC key takes well under a millisecond, nothing to win.
 */
function issueKeySize(args: readonly string[]): number | undefined {
  let size = 2048;
  let rsa = true;
  args.forEach((arg, i) => {
    if (arg === '--key-size') size = Number(args[i + 1]);
    else if (arg.startsWith('--key-size=')) size = Number(arg.slice('--key-size='.length));
    else if (arg === '--key-type') rsa = args[i + 1] === 'rsa';
    else if (arg.startsWith('--key-type=')) rsa = arg === '--key-type=rsa';
  });
  return rsa && KEY_SIZES.has(size) ? size : undefined;
}

export function start(argv: string[]): void {
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V' || args[0] === '-v')) {
    // What commander prints for it: the version and a newline.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    process.stdout.write(`${(require('../../../package.json') as { version: string }).version}\n`);
    return;
  }
  if (args[0] === '__complete') {
    // What the shell completions ask while a name is typed (complete.ts): no commander, no commands.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('./complete') as typeof import('./complete')).complete(args.slice(1));
    return;
  }
  const command = commandOf(args);
  const help = args.includes('--help') || args.includes('-h');
  if (command === 'issue' && !help) {
    const bits = issueKeySize(args);
    if (bits) startKey({ type: 'rsa', bits });
  }
  if (command && UNLOCKS_CA_KEY.has(command) && !help) prefetchCaKey(args);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('./main') as { run: typeof Run }).run(argv);
}
