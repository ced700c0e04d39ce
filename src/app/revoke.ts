/**
 * `pocketca revoke SERIAL|NAME`: record the revocation and re-sign the CRL in
 * one IMMEDIATE transaction, so a CRL never misses a recorded revocation.
 */
import { CertificateAlreadyRevokedError, CrlIncompleteError, RevocationNotEffectiveError, UsageError } from '../errors';
import { USER_REASONS, type RevocationReason } from '../formats/crl';
import { findBySerial, statusOf, type CertificateRow } from '../store/certificates';
import { recordEvent } from '../store/events';
import { insertRevocation } from '../store/revocations';
import { triggerAbortOf } from '../store/sqlite-errors';
import { getSetting, setSetting, WEBSOCKET_SALT_SETTING } from '../store/settings';
import type { AppContext } from '../host/context';
import { checkpoint } from '../host/files';
import { ambiguous, findCertificates } from './find-certificate';
import { crlDaysOf, signAndWriteCrl } from './publish-crl';
import { unlockCaKey } from '../host/unlock';
import { writeBundle } from './bundle';

export interface RevokeParams {
  ref: string;
  reason: RevocationReason;
  /** Revoke every valid certificate a NAME matches; default false. */
  all: boolean;
  /** Asked when a NAME matches several and `all` is false (a TTY); undefined: refuse. */
  confirmAll?: (rows: CertificateRow[]) => Promise<boolean>;
  /** The command recorded in the audit log; default 'revoke'. */
  command?: string;
}

export interface RevokeResult {
  revoked: { serial: string; name: string; reason: string; revokedAt: string }[];
  crlNumber: number;
  crlPath: string;
  /**
   * An intermediate was revoked: the WebSocket token key was rotated, since a
   * cookie names only its device's serial, and a device under the intermediate
   * is not on any CRL the proxy's token check reads (the proxy config must be
   * made again and published for the new key to apply).
   */
  websocketKeyRotated?: boolean;
}

export async function revoke(ctx: AppContext, p: RevokeParams): Promise<RevokeResult> {
  if (!USER_REASONS.includes(p.reason)) throw new UsageError(`unknown reason ${JSON.stringify(p.reason)}; use one of ${USER_REASONS.join(', ')}`);
  const db = ctx.home.database();
  const nowIso = ctx.now().toISOString();
  const command = p.command ?? 'revoke';
  const rows = findCertificates(db, p.ref);
  const candidates = rows.filter((r) => !r.revokedAt);
  if (candidates.length === 0) {
    const last = rows[rows.length - 1]!;
    throw new CertificateAlreadyRevokedError(
      rows.length === 1 ? `certificate ${last.serial} (${last.name}) is already revoked (${last.revokedAt})` : `every certificate named ${p.ref} is already revoked`,
      'nothing changed; see `pocketca list --revoked`',
    );
  }
  let targets = candidates;
  if (candidates.length > 1) {
    const valid = candidates.filter((r) => statusOf(r, nowIso) === 'valid');
    targets = valid.length > 0 ? valid : candidates;
    if (targets.length > 1 && !p.all && !(p.confirmAll && (await p.confirmAll(targets)))) throw ambiguous(p.ref, targets, '--all');
  }
  refuseReasonFor(p.reason, targets);

  const done = await revokeCertificates(ctx, targets, p.reason, command, { skipRevoked: false });
  return { revoked: done.revoked, crlNumber: done.crlNumber!, crlPath: ctx.home.crlPath, ...(done.websocketKeyRotated ? { websocketKeyRotated: true } : {}) };
}

/**
 * cACompromise is the reason for revoking a CA certificate, keyCompromise its
 * end-entity counterpart (RFC 5280 §5.3.1 takes CRLReason from X.509, which
 * defines them so; Java's CRLReason says "CA certificates only"). A leaf
 * revoked as cACompromise would tell a relying party that a CA key leaked:
 * refused, before the passphrase is asked.
 */
function refuseReasonFor(reason: RevocationReason, targets: CertificateRow[]): void {
  const leaf = reason === 'cACompromise' ? targets.find((t) => t.profile !== 'intermediate') : undefined;
  if (leaf) {
    throw new UsageError(
      `--reason cACompromise is for an intermediate (a CA certificate); ${leaf.name} (${leaf.serial}) is a ${leaf.profile} certificate`,
      `for a leaked key use: pocketca revoke ${leaf.serial} --reason keyCompromise`,
    );
  }
}

/**
 * Record the revocation of `targets` and re-sign the CRL in one IMMEDIATE
 * transaction (also `renew`'s second half). Each target is re-read under the
 * write lock: another process may have revoked it meanwhile; that is an
 * error, or with `skipRevoked` one fewer to do. With nothing left to revoke no
 * CRL is signed (crlNumber undefined).
 */
export async function revokeCertificates(
  ctx: AppContext,
  targets: CertificateRow[],
  reason: RevocationReason,
  command: string,
  options: { skipRevoked: boolean },
): Promise<{ revoked: RevokeResult['revoked']; crlNumber: number | undefined; websocketKeyRotated?: boolean }> {
  const db = ctx.home.database();
  const caKey = await unlockCaKey(ctx, command);
  const ca = ctx.home.caCertificate();
  const recordAndPublish = db
    .transaction(() => {
      // The time is read under the write lock: a process that waited for it
      // must not sign a CRL with a higher number and an earlier thisUpdate.
      const now = ctx.now();
      const at = now.toISOString();
      const revoked: RevokeResult['revoked'] = [];
      let intermediateRevoked = false;
      for (const target of targets) {
        if (findBySerial(db, target.serial)?.revokedAt) {
          if (options.skipRevoked) continue;
          throw new CertificateAlreadyRevokedError(`certificate ${target.serial} (${target.name}) is already revoked`, 'nothing changed');
        }
        insertRevocation(db, { serial: target.serial, revokedAt: at, reason });
        recordEvent(db, { at, command, outcome: 'ok', serial: target.serial, name: target.name, detail: reason });
        revoked.push({ serial: target.serial, name: target.name, reason, revokedAt: at });
        if (target.profile === 'intermediate') intermediateRevoked = true;
      }
      if (revoked.length === 0) return { revoked, crlNumber: undefined };
      checkpoint(`${command}:revocation-recorded`);
      // Each serial checked in the record, signed and read back from crl.pem before this commits.
      const crl = signAndWriteCrl(db, ctx.home.crlPath, ca, caKey, now, crlDaysOf(db), revoked.map((r) => r.serial));
      // A revoked intermediate leaves the bundle the proxy trusts.
      writeBundle(ctx);
      const websocketKeyRotated = intermediateRevoked && getSetting(db, WEBSOCKET_SALT_SETTING) !== undefined;
      if (websocketKeyRotated) {
        setSetting(db, WEBSOCKET_SALT_SETTING, ctx.randomBytes(32).toString('hex'));
        recordEvent(db, { at, command, outcome: 'ok', detail: 'websocket token key rotated: an intermediate was revoked' });
      }
      return { revoked, crlNumber: crl.number, ...(websocketKeyRotated ? { websocketKeyRotated } : {}) };
    });
  try {
    return recordAndPublish.immediate();
  } catch (error) {
    // A CRL that would not list it, or a trigger that stopped it (one that deletes revocations meets migration 006's).
    const trigger = triggerAbortOf(error);
    const cause = error instanceof CrlIncompleteError ? error.message : trigger && `the database refused it (${trigger})`;
    if (!cause) throw error;
    // Rolled back; the log says what happened, in a transaction of its own (SPEC "The record cannot be bent").
    for (const t of targets) recordEvent(db, { at: ctx.now().toISOString(), command, outcome: 'failed', serial: t.serial, name: t.name, detail: `revocation did not take effect: ${cause}` });
    throw new RevocationNotEffectiveError(
      `the revocation of ${targets.map((t) => `${t.serial} (${t.name})`).join(', ')} did not take effect: ${cause}; nothing was revoked`,
      `run \`pocketca doctor\`, and revoke again once it passes`,
    );
  }
}
