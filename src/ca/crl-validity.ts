/**
 * When a CRL is valid. thisUpdate is backdated like a certificate's notBefore
 * (BACKDATE_MS): a proxy whose clock runs a few minutes slow would otherwise
 * see a "not yet valid" CRL and refuse every client (nginx: "CRL is not yet
 * valid"). nextUpdate is `days` from now, but never after the CA's notAfter:
 * a CRL cannot vouch for revocations past the life of the key that signs it
 * (RFC 5280 §5.1.2.5 with §6.3.3; the CA must be re-keyed before then anyway).
 */
import { BACKDATE_MS } from './certificate-profiles';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface CrlValidity {
  thisUpdate: Date;
  nextUpdate: Date;
}

/** Whole seconds, as a CRL's UTCTime carries them (RFC 5280 §5.1.2.4). */
export function crlValidityFor(now: Date, days: number, caNotAfter: Date): CrlValidity {
  const second = Math.floor(now.getTime() / 1000) * 1000;
  const thisUpdate = second - BACKDATE_MS;
  const nextUpdate = Math.max(thisUpdate, Math.min(second + days * DAY_MS, caNotAfter.getTime()));
  return { thisUpdate: new Date(thisUpdate), nextUpdate: new Date(nextUpdate) };
}
