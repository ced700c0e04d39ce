/**
 * The CA bundle the proxy trusts (SPEC `bundle`, "An offline root over an
 * online issuing tier"): the root, then every valid intermediate it signed,
 * so nginx and Apache can build root -> intermediate -> leaf chains.
 * bundle.pem is rewritten whenever that set changes: an intermediate signed
 * or revoked, and at every CRL (which is when an expired one drops out).
 */
import { toPem } from '../formats/pem';
import { validIntermediates } from '../store/certificates';
import type { Db } from '../store/database';
import type { AppContext } from '../host/context';
import { PUBLIC, writeFileAtomic } from '../host/files';

export function bundlePem(ctx: AppContext): string {
  return bundlePemOf(ctx.home.caCertificatePem(), ctx.home.database(), ctx.now());
}

/** The bundle for a root certificate (PEM) and the intermediates a database records as valid at `now`. */
export function bundlePemOf(rootPem: string, db: Db, now: Date): string {
  const intermediates = validIntermediates(db, now.toISOString());
  return [rootPem.endsWith('\n') ? rootPem : `${rootPem}\n`, ...intermediates.map((i) => toPem('CERTIFICATE', i.der))].join('');
}

export function writeBundle(ctx: AppContext): void {
  writeFileAtomic(ctx.home.bundlePath, bundlePem(ctx), PUBLIC);
}
