/**
 * The certificate that signs .mobileconfig files (`issue --sign-profile`).
 * Signing profiles with the root key itself would put the root's signature on
 * files that travel; a profile-signing certificate the CA issues for itself is
 * recorded like any other (source 'internal', hidden from `list` by default)
 * and can be revoked. Its key is kept in the home, encrypted like the CA key
 * with the same passphrase; it is made once and reused until near expiry.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decryptPrivateKeyAsync, encryptPrivateKey } from '../formats/encrypted-key';
import { buildSubject } from '../ca/subject';
import { certificateDer, findBySerial } from '../store/certificates';
import { getSetting, setSetting } from '../store/settings';
import type { AppContext } from '../host/context';
import { PRIVATE, writeFileAtomic } from '../host/files';
import { generateRsaKey } from './init-ca';
import { recordCertificate, signCertificate } from './issue-certificate';

const RENEW_BEFORE_MS = 30 * 86_400_000;

export async function ensureProfileSigner(ctx: AppContext, caKey: KeyObject): Promise<{ certDer: Buffer; key: KeyObject }> {
  const db = ctx.home.database();
  const keyPath = join(ctx.home.dir, 'profile-signer.key.pem');
  const now = ctx.now();
  const serial = getSetting(db, 'profile_signer_serial');
  const row = serial ? findBySerial(db, serial) : undefined;
  if (row && !row.revokedAt && new Date(row.notAfter).getTime() - now.getTime() > RENEW_BEFORE_MS && existsSync(keyPath)) {
    return { certDer: certificateDer(db, row.serial)!, key: await decryptPrivateKeyAsync(readFileSync(keyPath), await ctx.passphrase()) };
  }
  const key = await generateRsaKey(2048);
  const subject = buildSubject('pocketca profile signer');
  const signed = signCertificate(
    ctx.home.caCertificate(),
    caKey,
    {
      name: 'profile-signer',
      profile: 'profile-signer',
      source: 'internal',
      subject,
      spkiDer: createPublicKey(key).export({ type: 'spki', format: 'der' }),
      keyType: 'rsa',
      sans: { dns: [], ip: [], email: [] },
      days: 825,
    },
    now,
    ctx.randomBytes,
  );
  // The CA's own signer: its name is no device's, and a second one (two runs at once) only signs profiles too.
  recordCertificate(db, signed, 'issue', 'any');
  writeFileAtomic(keyPath, encryptPrivateKey(key, await ctx.passphrase(), ctx.randomBytes), PRIVATE);
  setSetting(db, 'profile_signer_serial', signed.record.serial);
  return { certDer: signed.der, key };
}
