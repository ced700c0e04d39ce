import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import type { ShareRequestLog } from '../../host/share-server';
import { InterruptedError, ScepEnrollmentCompromisedError } from '../../errors';
import { shellPath, waitUntil } from '../device-steps';
import { watchInterrupt } from '../interrupt';
import { printable, showLinkCode } from '../output';
import { caFingerprintLines, warnIfLoopback } from '../share-session';
import { bindOption, durationOption, intOption, runtimeFor } from '../runtime';

const logLine = (e: ShareRequestLog) => `${e.time} ${e.remoteAddress} ${e.method} ${e.path} ${e.status}${e.note ? `  ${printable(e.note)}` : ''}`;

export function registerScep(program: Command): void {
  program
    .command('scep')
    .description('let a device make its own key and enroll once by SCEP, served from this laptop')
    .argument('<name>', 'the device NAME; its certificate is exactly CN=NAME')
    .option('--out-dir <dir>', 'where to write NAME.mobileconfig', '.')
    .option('--force', 'enroll even when NAME has a valid certificate not made by scep, and replace an existing NAME.mobileconfig')
    .option('--days <n>', 'validity in days (default 365)', intOption('--days', 1, 36500))
    .option('--key-size <bits>', 'RSA key size the device makes: 2048 or 4096', intOption('--key-size', 2048, 4096), 2048)
    .option('--sign-profile', 'sign the .mobileconfig (CMS) with a profile-signing certificate of this CA')
    .addOption(new Option('--ttl <duration>', 'end the enrollment after this long: 30s, 10m, 1h (at most 24h)').argParser(durationOption('--ttl')).default(10 * 60 * 1000, '10m'))
    .option('--bind <addr>', 'listen on this address only (default: every IPv4 interface; the URL names the first LAN address)', bindOption)
    .option('--port <n>', 'TCP port (default: a free one)', intOption('--port', 1, 65535))
    .option('--passphrase-file <file>', 'read the CA passphrase from FILE (else $POCKETCA_PASSPHRASE, else a prompt)')
    .addHelpText(
      'after',
      `
On the device: open the link in Safari (or scan the QR code), allow the
download, then install the profile in Settings. The device makes its key and
enrolls by itself while this command runs; the key never leaves it.

The profile holds a one-time 128-bit challenge: only a request carrying it
gets a certificate, and only one, with the subject CN=NAME and the client
profile. SCEP messages are signed and encrypted, but the profile travels over
plain HTTP, so someone on the network could read the challenge. After it
issues, the enrollment keeps listening 15 s: the challenge used again with
another key means two parties held it, and the certificate issued is revoked
(keyCompromise), the CRL re-signed, exit 1. When the certificate went to
another address than the one that downloaded the profile, it keeps listening
until --ttl for the device. Compare the serial and SHA-256 fingerprint it
prints with the device's (iOS: Settings > General > VPN & Device Management >
the profile > More Details). Wrong challenges and bad requests are refused (a
SCEP FAILURE, or 400 for an unreadable message) and logged; after 5 refusals
nothing more is decrypted and the enrollment ends.

When NAME has a valid certificate from an earlier pocketca scep, this is its
renewal: the new profile replaces the old one on the device, and once the new
certificate is issued and watched, the old one is revoked (superseded) and the
CRL re-signed. A valid certificate from issue, sign or renew: revoke it first,
or --force to enroll alongside it.

With --json, stdout gets one line {"url","scepUrl"} as soon as it listens,
then the certificate's summary as sign --json prints it (and renew's
"replaced", "crlNumber", "crlPath" for a renewal).

Needs an RSA CA (SCEP encrypts to the CA with RSA). For apps that want a .p12
file, use pocketca issue NAME and pocketca share NAME.mobileconfig instead.
certmonger needs the CA named: getcert add-scep-ca -c pocketca -u SCEP-URL
-N ca.pem (from pocketca bundle --out ca.pem).

Examples:
  pocketca scep alice-iphone
  pocketca scep alice-ipad --ttl 20m --bind 192.168.1.10

Ctrl-C ends the enrollment and says whether a certificate was issued.

Exit codes:
  0    the device enrolled (its certificate is recorded; a renewal revoked
       the old one)
  1    --ttl passed or 5 refusals with nothing issued; two parties used the
       challenge (the certificate issued was revoked); the server could not
       start
  2    bad usage or bad input (invalid NAME, an EC CA, no such --out-dir,
       --days past the CA's expiry, NAME outside the CA's name constraints)
  130  stopped with Ctrl-C`,
    )
    .action(async (name: string, opts, command: Command) => {
      const { ctx, out } = runtimeFor(command, opts);
      warnIfLoopback(opts.bind, out);
      // Ctrl-C ends the enrollment and says what was done: issued and recorded, or nothing (the challenge
      // is spent). Armed for the rest of the command, before anything is unlocked or served.
      const interrupt = watchInterrupt();
      const { startScepEnrollment } = await import('../../app/scep-enrollment');
      const { formatDuration } = await import('../../host/share-server');
      const enrollment = await startScepEnrollment(ctx, {
        name,
        outDir: resolve(opts.outDir),
        force: Boolean(opts.force),
        days: opts.days,
        keySize: opts.keySize,
        signProfile: Boolean(opts.signProfile),
        ttlMs: opts.ttl,
        bind: opts.bind,
        port: opts.port,
        onRequest: (entry) => {
          if (!out.options.quiet) out.tell(logLine(entry));
        },
        onIssued: (issued, watch) => {
          // A line of the request log (shown with --json too, as the log is).
          if (!out.options.quiet) out.tell(`issued ${issued.serial} to ${issued.name} at ${issued.remoteAddress}; watching until ${waitUntil(watch.until)} for a second use of the challenge`);
          if (watch.extended) out.warn(`${watch.extended}: if that is not ${issued.name}, someone else enrolled first; listening until --ttl ends for ${issued.name} (a second use of the challenge revokes the certificate)`);
        },
      });
      const renewal = enrollment.renewing.map((r) => `${r.serial} (expires ${r.notAfter.slice(0, 10)})`).join(', ');
      // What this run will revoke, said before the device enrolls (with --json too, unless --quiet).
      if (renewal && !out.options.quiet) out.tell(`renewal: ${name}'s certificate ${renewal} is revoked (superseded) once the device has its new one`);
      if (out.json) out.data(JSON.stringify({ url: enrollment.url, scepUrl: enrollment.scepUrl }) + '\n');
      if (enrollment.session.noLanAddress) {
        out.warn('this machine has no LAN address: the link names 127.0.0.1, which a phone cannot reach; connect to the Wi-Fi or pass --bind ADDR');
      }
      out.note(
        [
          `wrote ${enrollment.profilePath} (0600: it holds the one-time challenge)`,
          ...caFingerprintLines(enrollment.session.file.device.ca),
          '',
          `On ${name}: open the link in Safari (scan the code), tap Download and allow it, then Settings > Profile Downloaded > Install. The device then makes its key and enrolls by itself: keep this running until it says done.`,
          `The enrollment ends at ${waitUntil(enrollment.session.expiresAt, formatDuration(enrollment.session.ttlMs))}; the link works once.`,
        ].join('\n'),
      );
      // share's 80x24 layout (issue 10): the steps above, the code and the URL last.
      const stopWatching = out.json ? () => undefined : await showLinkCode(enrollment.url, out, process.stdout);
      interrupt.whenInterrupted(() => enrollment.session.close());
      const again = `pocketca scep ${name}${opts.outDir === '.' ? '' : ` --out-dir ${shellPath(resolve(opts.outDir))}`}`;
      let issued: Awaited<typeof enrollment.done>;
      try {
        issued = await enrollment.done.finally(stopWatching);
      } catch (error) {
        // What to compare with the device, above the error line main prints (also with --quiet).
        if (error instanceof ScepEnrollmentCompromisedError) out.tell(error.details.map((line) => printable(line)).join('\n'));
        if (!interrupt.interrupted) throw error;
        throw new InterruptedError(`interrupted: the enrollment is closed and nothing was issued; the challenge in ${enrollment.profilePath} no longer works`, `to enroll ${name} again: ${again}`);
      }
      if (interrupt.interrupted) {
        throw new InterruptedError(
          `interrupted after ${name} enrolled: certificate ${issued.serial} (${issued.subject}) is issued and recorded`,
          `check it with pocketca show ${issued.serial}; if the device did not install it: pocketca revoke ${issued.serial}, then ${again}`,
        );
      }
      if (issued.dropped !== undefined) ctx.warn(`the device asked for the subject ${issued.dropped}; issued as ${issued.subject}`);
      if (issued.extended) ctx.warn(`${issued.extended}, and nobody else used the challenge until --ttl ended`);
      const { transactionId: _t, dropped: _d, remoteAddress: _a, extended: _e, ...json } = issued;
      out.result(json, () =>
        [
          `done: issued client certificate ${issued.serial} to ${issued.name} (${issued.subject})`,
          `  SHA-256      ${issued.fingerprintSha256}`,
          ...issued.replaced.map((r) => `  replaces     ${r.serial}, now ${r.status}${r.reason ? ` (${r.reason})` : ''}`),
          ...(issued.crlNumber !== undefined ? [`signed CRL number ${issued.crlNumber}: ${issued.crlPath}`] : []),
        ].join('\n'),
      );
      out.note(`compare on ${issued.name}: Settings > General > VPN & Device Management > the profile > More Details; revoke it with pocketca revoke ${issued.name}`);
      if (issued.crlNumber !== undefined) out.note(`copy ${issued.crlPath} to the proxy and reload it`);
    });
}
