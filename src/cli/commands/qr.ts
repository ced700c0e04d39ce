import type { Command } from 'commander';
import { InvalidUrlError } from '../../errors';
import { printQr, refuseBinaryOnTerminal } from '../output';
import { EXIT_CODES, runtimeFor } from '../runtime';

/** `cloud.home.arpa`, `192.168.1.10:8443/admin`: a host (and port, path) with no scheme. */
const HOST_WITHOUT_SCHEME = /^[A-Za-z0-9.-]+(:\d{1,5})?([/?#][\x21-\x7e]*)?$/;

export function registerQr(program: Command): void {
  program
    .command('qr')
    .description('print a QR code for URL in the terminal, or write it as PNG / SVG')
    .argument('<url>', 'an absolute URL (encoded exactly as given)')
    .option('--png <file>', 'write the QR code as a PNG image to FILE')
    .option('--svg <file>', 'write the QR code as an SVG image to FILE')
    .option('--force', 'replace FILE even when it is not a PNG / SVG image')
    .addHelpText(
      'after',
      `
Without --png or --svg the code is printed in the terminal (two modules per
character cell) black on white with ANSI colours, also into a pipe or a file,
so that \`cat\` or \`less -R\` later shows a code that scans on any terminal
theme. --no-color or NO_COLOR leave the colours out: the code is then drawn
in the terminal's text colour, which scans on a light background only.

Examples:
  pocketca qr https://cloud.home.arpa/
  pocketca qr https://cloud.home.arpa/ --png cloud.png --svg cloud.svg
${EXIT_CODES}`,
    )
    .action(async (url: string, opts: { png?: string; svg?: string; force?: boolean }, command: Command) => {
      refuseBinaryOnTerminal(opts.png, '--png', 'a PNG image');
      const { ctx, out } = runtimeFor(command);
      const { exportQr } = await import('../../app/export-qr');
      const result = await exportQr({ url, png: opts.png, svg: opts.svg, home: ctx.home.dir, force: Boolean(opts.force), stdout: (d) => out.data(d) }).catch((error: unknown) => {
        // `qr cloud.home.arpa`: a host name where a URL belongs; a phone needs the scheme to open it.
        if (error instanceof InvalidUrlError && HOST_WITHOUT_SCHEME.test(url)) {
          const suggested = `https://${url}`;
          error.withHint(`a phone opens a web address with its scheme: pocketca qr ${/^[\w.:/-]+$/.test(suggested) ? suggested : `'${suggested.replace(/'/g, `'\\''`)}'`}`);
        }
        throw error;
      });
      if (opts.png === '-' || opts.svg === '-') return;
      const wroteFiles = Object.keys(result.files).length > 0;
      if (out.json || wroteFiles) {
        out.result(result, () =>
          Object.entries(result.files)
            .map(([kind, path]) => `wrote ${kind.toUpperCase()} ${path}`)
            .join('\n'),
        );
      } else {
        await printQr(result.url, out);
      }
    });
}
