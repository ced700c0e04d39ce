import type { KeyObject } from 'node:crypto';
import { WrongPassphraseError } from '../errors';
import { recordEvent } from '../store/events';
import type { AppContext } from './context';

/** Unlock the CA key; a wrong passphrase is recorded as a refused operation. */
export async function unlockCaKey(ctx: AppContext, command: string): Promise<KeyObject> {
  const passphrase = await ctx.passphrase();
  try {
    return ctx.home.unlockKey(passphrase);
  } catch (error) {
    if (error instanceof WrongPassphraseError) {
      recordEvent(ctx.home.database(), { at: ctx.now().toISOString(), command, outcome: 'refused', detail: 'wrong CA passphrase' });
    }
    throw error;
  }
}
