/**
 * What bin/pocketca runs first: the work that can begin before the program
 * loads. commander and the command modules cost more than Node's own start-up
 * (issue 6), so `--version` answers having loaded nothing of pocketca,
 * `issue` starts its key generation on the thread pool before them, and the
 * commands that unlock the CA key start its scrypt there too
 * (head-start.ts). Only a hint is taken from argv here; commander still
 * parses it, and work started for nothing is dropped. Every module is
 * required where it is needed, so that no path loads another's (issue 18).
 *
 * Dropped, not stopped: an `issue` refused early (a name in use, a bad flag)
 * still ends only once its key is made (~40 ms at RSA-2048, up to a second at
 * 4096). Neither unref nor process.exit shortens that: Node's exit joins the
 * libuv thread pool (uv_library_shutdown) and worker threads, and OpenSSL's
 * prime search cannot be interrupted (measured, Node 20).
 */
/* eslint-disable @typescript-eslint/no-require-imports */

/** The commands that unlock the CA key with --passphrase-file or POCKETCA_PASSPHRASE, and `issue` makes a key. */
const STARTS_EARLY = new Set(['issue', 'sign', 'revoke', 'crl', 'renew', 'backup', 'enroll']);

export function start(argv: string[]): void {
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V' || args[0] === '-v')) {
    // What commander prints for it: the version and a newline.
    process.stdout.write(`${(require('../../../package.json') as { version: string }).version}\n`);
    return;
  }
  if (args[0] === '__complete') {
    // What the shell completions ask while a name is typed (complete.ts): no commander, no commands.
    (require('./complete') as typeof import('./complete')).complete(args.slice(1));
    return;
  }
  const command = (require('./argv') as typeof import('./argv')).commandOf(args);
  const help = args.includes('--help') || args.includes('-h');
  // Only these commands load head-start: it brings the key file's reader and node:crypto.
  if (command && STARTS_EARLY.has(command) && !help) (require('./head-start') as typeof import('./head-start')).startEarlyWork(command, args);
  (require('./main') as typeof import('./main')).run(argv);
}
