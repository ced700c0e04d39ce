import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { validateName } from '../../formats/names';
import { decodeName, formatName } from '../../formats/x500-name';
import { CertificateNotFoundError, PocketcaError, UsageError } from '../../errors';
import { DEVICE_KINDS, issueNextSteps, type DeviceKind } from '../device-steps';
import { askChoice, askConfirm, askText } from '../prompt';
import { isInteractive, p12PasswordFrom } from '../secrets';
import { runShare } from '../share-session';
import { fields } from '../layout';
import { EXIT_CODES, bindOption, durationOption, intOption, runtimeFor } from '../runtime';

interface EnrollOptions {
  passphraseFile?: string;
  p12PasswordFile?: string;
  bind?: string;
  port?: number;
  ttl: number;
}

/** The files `issue` writes for a client of this kind (the .mobileconfig only for Apple devices). */
const filesFor = (name: string, kind: DeviceKind) => [`${name}.pem`, `${name}.p12`, ...(kind === 'ios' ? [`${name}.mobileconfig`] : [])];

export function registerEnroll(program: Command): void {
  program
    .command('enroll')
    .description('interactive: issue a client identity for a device and share it with a QR code')
    .option('--passphrase-file <file>', 'read the CA passphrase from FILE (else $POCKETCA_PASSPHRASE, else a prompt)')
    .option('--p12-password-file <file>', 'read the PKCS#12 password from FILE (else $POCKETCA_P12_PASSWORD, else one is generated)')
    .option('--bind <addr>', 'for the share at the end: listen on this address only', bindOption)
    .option('--port <n>', 'for the share at the end: TCP port (default: a free one)', intOption('--port', 1, 65535))
    .addOption(new Option('--ttl <duration>', 'for the share at the end: how long the link lives (30s, 10m, 1h)').argParser(durationOption('--ttl')).default(10 * 60 * 1000, '10m'))
    .addHelpText(
      'after',
      `
Asks for the device's name and kind and where to write the files, issues a
client certificate (RSA 2048, 365 days, legacy PKCS#12 that iOS imports) with a
generated PKCS#12 password, shows that password once, then offers to serve the
.mobileconfig (iPhone, iPad) or the .p12 (Android, desktop) at a one-time LAN
link with a QR code, as \`pocketca share\` does. Needs a terminal; scripts use
\`pocketca issue\` and \`pocketca share\`.

Examples:
  pocketca enroll
  pocketca enroll --home /media/usb/ca --ttl 30m
${EXIT_CODES}`,
    )
    .action(async (opts: EnrollOptions, command: Command) => {
      if (!isInteractive()) {
        throw new UsageError(
          'enroll asks questions and needs a terminal (stdin is not a TTY)',
          'in a script: pocketca issue NAME --passphrase-file FILE, then pocketca share NAME.mobileconfig',
        );
      }
      const { ctx, out } = runtimeFor(command, opts);
      const ca = ctx.home.caCertificate(); // no CA: stop before asking anything
      // A password file that cannot be read is told before the passphrase and the questions.
      const p12Password = p12PasswordFrom(opts, ctx.warn);
      const { findValid } = await import('../../app/find-certificate');
      const { issueIdentity } = await import('../../app/issue-identity');
      const { unlockCaKey } = await import('../../host/unlock');
      out.note(`Enrolling a device with the CA ${formatName(decodeName(ca.subjectDer))} (${ctx.home.dir}).`);
      // The passphrase first (three tries at the prompt): a wrong one never costs the answers below.
      await unlockCaKey(ctx, 'enroll');

      const name = (
        await askText('Device name (letters, digits, . _ -), for example alice-iphone:', {
          validate: (value) => {
            try {
              validateName(value.trim());
              return true;
            } catch (error) {
              return (error as Error).message;
            }
          },
        })
      ).trim();
      try {
        const valid = findValid(ctx.home.database(), name, ctx.now().toISOString());
        if (valid.length) {
          out.note(`${name} already has ${valid.length} valid certificate${valid.length === 1 ? '' : 's'}; this issues a new one. Revoke the old one when the new one works: pocketca revoke ${valid[0]!.serial}`);
        }
      } catch (error) {
        if (!(error instanceof CertificateNotFoundError)) throw error;
      }

      const kind = await askChoice<DeviceKind>('What kind of device is it?', DEVICE_KINDS);
      if (kind !== 'ios') out.note('Android and desktops import the .p12 with its password (the .mobileconfig is for Apple devices).');

      // The same rule as `issue --out-dir`: a missing last directory is made
      // (0700, offered first here), a directory inside the CA home is refused;
      // either way the question is asked again rather than ending the wizard.
      const { resolveOutputDir } = await import('../../host/output-target');
      const outputDir = (value: string) => resolveOutputDir(ctx.home.dir, value.trim() || '.', '');
      const checkDirectory = (value: string): true | string => {
        try {
          outputDir(value);
          return true;
        } catch (error) {
          if (!(error instanceof PocketcaError)) throw error;
          return error.hint ? `${error.message} (${error.hint})` : error.message;
        }
      };
      let outDir: string;
      let force = false;
      for (;;) {
        const chosen = outputDir(await askText('Where to write the files?', { default: process.cwd(), validate: checkDirectory }));
        outDir = chosen.path;
        if (!chosen.exists) {
          if (await askConfirm(`${outDir} does not exist. Create it (mode 0700)?`, true)) break;
          continue;
        }
        const existing = filesFor(name, kind).filter((f) => existsSync(join(outDir, f)));
        if (existing.length === 0) break;
        if (await askConfirm(`${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''} in ${outDir}. Replace?`, false)) {
          force = true;
          break;
        }
      }

      out.note(`issuing a client certificate for ${name}...`);
      const result = await issueIdentity(ctx, {
        name,
        profile: 'client',
        email: [],
        dns: [],
        ip: [],
        keySize: 2048,
        outDir,
        keepKey: false,
        mobileconfig: kind === 'ios',
        p12Format: 'legacy',
        profilePassword: false,
        signProfile: false,
        p12Password,
        force,
        command: 'enroll',
      });
      out.result(result, () => {
        const lines = [
          `issued client certificate ${result.serial} for ${result.name}`,
          ...fields([['subject', result.subject], ['expires', result.notAfter], ...Object.entries(result.files)], '  '),
        ];
        // The password on a line of its own: at 80 columns a sentence before it wrapped it in the middle (issue 10).
        if (result.p12Password) lines.push('', 'PKCS#12 password (shown once, write it down; the device asks for it):', `  ${result.p12Password}`);
        return lines.join('\n');
      }, result.p12Password);

      const shareFile = kind === 'ios' ? result.files.mobileconfig! : result.files.p12!;
      const shareName = shareFile.slice(shareFile.lastIndexOf('/') + 1);
      if (await askConfirm(`Share ${shareName} now on the LAN (a one-time link and a QR code)?`, true)) {
        const aboveCode = result.p12Password ? `PKCS#12 password: ${result.p12Password}` : undefined;
        await runShare({ file: shareFile, bind: opts.bind, port: opts.port, ttlMs: opts.ttl, device: kind, stream: process.stderr, jsonLine: false, aboveCode }, out);
      } else {
        out.note(issueNextSteps(kind === 'ios' ? { mobileconfig: result.files.mobileconfig } : { p12: result.files.p12 }));
      }
    });
}
