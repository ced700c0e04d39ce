/**
 * `pocketca __complete names [--home DIR]`, what the completion scripts run
 * when a SERIAL|NAME is being typed (completion-scripts.ts): the recorded
 * names, one a line. Hidden, and answered before commander and the commands
 * load (start.ts): a completion must come back at once. It never fails
 * loudly: with no home, no database or any error it prints nothing, exit 0,
 * so the shell simply offers no names.
 */
import { resolveHome } from './argv';

export function complete(args: readonly string[]): void {
  const [what, ...rest] = args;
  if (what !== 'names') return;
  let home: string | undefined;
  rest.forEach((arg, i) => {
    if (arg === '--home' && i + 1 < rest.length) home = rest[i + 1];
    else if (arg.startsWith('--home=')) home = arg.slice('--home='.length);
  });
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { completionNames } = require('../app/complete-names') as typeof import('../app/complete-names');
    const names = completionNames(resolveHome(home));
    if (names.length > 0) process.stdout.write(names.join('\n') + '\n');
  } catch {
    // Nothing to offer: the shell shows no names.
  }
}
