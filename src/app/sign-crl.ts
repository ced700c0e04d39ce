/** `pocketca crl`: sign a new CRL now (number one higher) and write crl.pem. */
import { CrlIncompleteError, UsageError } from '../errors';
import { recordEvent } from '../store/events';
import type { AppContext } from '../host/context';
import { crlDaysOf, signAndWriteCrl, type PublishedCrl } from './publish-crl';
import { unlockCaKey } from '../host/unlock';
import { writeBundle } from './bundle';

export interface CrlParams {
  /** Validity in days; default the home's --crl-days. */
  days?: number;
}

export async function signCrl(ctx: AppContext, p: CrlParams): Promise<PublishedCrl & { path: string }> {
  if (p.days !== undefined && (!Number.isInteger(p.days) || p.days < 1 || p.days > 3650)) {
    throw new UsageError('--days must be a whole number from 1 to 3650');
  }
  const db = ctx.home.database();
  const ca = ctx.home.caCertificate();
  const key = await unlockCaKey(ctx, 'crl');
  const publish = db
    .transaction(() => {
      // Read under the write lock, so a higher CRL number never has an earlier thisUpdate.
      const now = ctx.now();
      const published = signAndWriteCrl(db, ctx.home.crlPath, ca, key, now, p.days ?? crlDaysOf(db));
      recordEvent(db, { at: now.toISOString(), command: 'crl', outcome: 'ok', detail: `number ${published.number}, ${published.entries} entries` });
      // An intermediate that has expired since the last write drops out of the bundle.
      writeBundle(ctx);
      return published;
    });
  let crl: PublishedCrl;
  try {
    crl = publish.immediate();
  } catch (error) {
    if (!(error instanceof CrlIncompleteError)) throw error;
    // Nothing was published; the log says why (SPEC "The record cannot be bent behind pocketca's back").
    recordEvent(db, { at: ctx.now().toISOString(), command: 'crl', outcome: 'failed', detail: error.message });
    throw error.withHint('run `pocketca doctor`: the database no longer gives back what it recorded');
  }
  return { ...crl, path: ctx.home.crlPath };
}
