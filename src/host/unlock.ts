import type { KeyObject } from 'node:crypto';
import { WrongPassphraseError } from '../errors';
import { recordEvent } from '../store/events';
import type { AppContext } from './context';
import type { CaHome } from './home';

const warned = new WeakSet<CaHome>();
/** The key each run unlocked: `enroll` checks the passphrase before it says "issuing", and issuing does not ask again. */
const unlocked = new WeakMap<AppContext, KeyObject>();

/**
 * Unlock the CA key, once per run; a wrong passphrase is recorded as a
 * refused operation, and at a prompt it may be typed again (three tries).
 * A key file others can read is a warning, not a refusal: the key is
 * encrypted, and a FAT-formatted USB stick shows every file as 0755.
 */
export async function unlockCaKey(ctx: AppContext, command: string): Promise<KeyObject> {
  const mode = ctx.home.keyFileMode();
  if (mode !== undefined && (mode & 0o077) !== 0 && !warned.has(ctx.home)) {
    warned.add(ctx.home);
    ctx.warn(`${ctx.home.keyPath} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}); chmod 600 it`);
  }
  const done = unlocked.get(ctx);
  if (done) return done;
  // A damaged or hostile key file is refused before anyone types a passphrase for it.
  ctx.home.checkKey();
  const key = await unlockWithRetries(ctx, (passphrase) => ctx.home.unlockKey(passphrase), () =>
    // Every wrong try is in the audit log, also those followed by a right one.
    recordEvent(ctx.home.database(), { at: ctx.now().toISOString(), command, outcome: 'refused', detail: 'wrong CA passphrase' }),
  );
  unlocked.set(ctx, key);
  return key;
}

/**
 * Ask for the passphrase and try it with `unlock`; on a wrong one, tell
 * `onWrong` and ask again while the context allows (a prompt: three tries).
 * Every command that opens a CA key goes through here, `restore` too (its key
 * is the backup's, not the home's).
 */
export async function unlockWithRetries<T>(ctx: AppContext, unlock: (passphrase: string) => Promise<T>, onWrong: () => void = () => {}): Promise<T> {
  for (;;) {
    const passphrase = await ctx.passphrase();
    try {
      return await unlock(passphrase);
    } catch (error) {
      if (!(error instanceof WrongPassphraseError)) throw error;
      onWrong();
      if (!ctx.retryPassphrase?.()) throw error;
    }
  }
}
