import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { validateName } from '../../formats/names';
import { decodeName, formatName } from '../../formats/x500-name';
import { InterruptedError, PocketcaError, UsageError, ValidCertificateExistsError } from '../../errors';
import { DEVICE_KINDS, issueNextSteps, shellPath, type DeviceKind } from '../device-steps';
import { watchInterrupt } from '../interrupt';
import { askChoice, askConfirm, askText, shownPath, typedPath } from '../prompt';
import { isInteractive, p12PasswordFrom } from '../secrets';
import { runShare } from '../share-session';
import { fields } from '../layout';
import { EXIT_CODES, bindOption, durationOption, intOption, runtimeFor } from '../runtime';

interface EnrollOptions {
  force?: boolean;
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
    .option('--force', 'issue even when NAME has a valid certificate (else: pocketca renew NAME)')
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

A name that already has a valid certificate is refused, as by issue: renew
it (\`pocketca renew NAME\`), or pass --force to issue another. A path typed
at the prompt may start with ~ (your home directory). Ctrl-C once the
certificate is issued says so, and the \`pocketca share\` command that puts
it on the device later (exit 130).

Examples:
  pocketca enroll
  pocketca enroll --home /media/usb/ca --ttl 30m
${EXIT_CODES}
  130  stopped with Ctrl-C`,
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
      const { refuseSecondCertificate } = await import('../../app/find-certificate');
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
              // issue's rule: a NAME with a valid certificate is renewed, not issued again (unless --force).
              if (!opts.force) refuseSecondCertificate(ctx.home.database(), value.trim(), ctx.now().toISOString());
              return true;
            } catch (error) {
              if (error instanceof ValidCertificateExistsError) {
                return `${error.message.replace(/; nothing was issued$/, '')}: pocketca renew ${value.trim()} replaces it; type another name (enroll --force issues another)`;
              }
              if (!(error instanceof PocketcaError)) throw error;
              return error.message;
            }
          },
        })
      ).trim();

      const kind = await askChoice<DeviceKind>('What kind of device is it?', DEVICE_KINDS);
      if (kind !== 'ios') out.note('Android and desktops import the .p12 with its password (the .mobileconfig is for Apple devices).');

      // The same rule as `issue --out-dir`: a missing last directory is made
      // (0700, offered first here), a directory inside the CA home is refused;
      // either way the question is asked again rather than ending the wizard.
      // A path is typed as in a shell (~ and ~/ are the home directory), and
      // the default is one this rule accepts.
      const { resolveOutputDir } = await import('../../host/output-target');
      const outputDir = (value: string) => resolveOutputDir(ctx.home.dir, typedPath(value.trim() || '.'), '');
      const checkDirectory = (value: string): true | string => {
        try {
          outputDir(value);
          return true;
        } catch (error) {
          if (!(error instanceof PocketcaError)) throw error;
          return error.hint ? `${error.message} (${error.hint})` : error.message;
        }
      };
      const suggested = [process.cwd(), homedir()].find((dir) => checkDirectory(dir) === true && outputDir(dir).exists);
      let outDir: string;
      let force = false;
      for (;;) {
        const chosen = outputDir(await askText('Where to write the files?', { default: suggested && shownPath(suggested), validate: checkDirectory }));
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
      // Ctrl-C from here on (issuing, the question, the share): the certificate
      // may be recorded already, so say what was done before leaving.
      const interrupt = watchInterrupt();
      try {
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
          force: force || Boolean(opts.force),
          command: 'enroll',
        });
        out.result(result, () => {
          const lines = [
            `issued client certificate ${result.serial} for ${result.name}`,
            ...fields([['subject', result.subject], ['expires', result.notAfter], ...Object.entries(result.files)], '  ', 12),
          ];
          // The password on a line of its own: at 80 columns a sentence before it wrapped it in the middle (issue 10).
          if (result.p12Password) lines.push('', 'PKCS#12 password (shown once, write it down; the device asks for it):', `  ${result.p12Password}`);
          return lines.join('\n');
        }, result.p12Password);

        const shareFile = kind === 'ios' ? result.files.mobileconfig! : result.files.p12!;
        const shareName = shareFile.slice(shareFile.lastIndexOf('/') + 1);
        const interrupted = (when: string) =>
          new InterruptedError(
            `interrupted ${when}: ${name}'s certificate ${result.serial} is issued and recorded, its files are in ${outDir}${result.p12Password ? ' (the PKCS#12 password is the one shown above)' : ''}`,
            `to put it on the device later: pocketca share ${shellPath(shareFile)}`,
          );
        if (interrupt.interrupted) throw interrupted('while issuing');
        try {
          if (await askConfirm(`Share ${shareName} now on the LAN (a one-time link and a QR code)?`, true)) {
            const aboveCode = result.p12Password ? `PKCS#12 password: ${result.p12Password}` : undefined;
            await runShare({ file: shareFile, bind: opts.bind, port: opts.port, ttlMs: opts.ttl, device: kind, stream: process.stderr, jsonLine: false, aboveCode, interrupt }, out);
          } else {
            out.note(issueNextSteps(kind === 'ios' ? { mobileconfig: result.files.mobileconfig } : { p12: result.files.p12 }));
          }
        } catch (error) {
          // Ctrl-C at the question (a cancelled prompt) or during the share.
          if (error instanceof InterruptedError) throw interrupted('before the download');
          throw error;
        }
      } finally {
        interrupt.dispose();
      }
    });
}
