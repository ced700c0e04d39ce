import { Option, type Command } from 'commander';
import { runShare } from '../share-session';
import { bindOption, durationOption, intOption, runtimeFor } from '../runtime';

export function registerShare(program: Command): void {
  program
    .command('share')
    .description('serve FILE once on the LAN at a one-time link, with a QR code for the phone')
    .argument('<file>', 'the file to serve: NAME.mobileconfig, NAME.p12, ca.pem...')
    .option('--max-downloads <n>', 'stop after N complete downloads', intOption('--max-downloads', 1, 100), 1)
    .addOption(new Option('--ttl <duration>', 'stop after this long if downloads remain: 30s, 10m, 1h (at most 24h)').argParser(durationOption('--ttl')).default(10 * 60 * 1000, '10m'))
    .option('--bind <addr>', 'listen on this address only (default: every IPv4 interface; the URL names the first LAN address)', bindOption)
    .option('--port <n>', 'TCP port (default: a free one)', intOption('--port', 1, 65535))
    .addHelpText(
      'after',
      `
The link is plain HTTP: the phone does not trust this CA until the profile is
installed, so HTTPS with a pocketca certificate would fail. The path holds a
144-bit random token, the link works --max-downloads times and for --ttl at
most, and every other request gets 404. The PKCS#12 inside a .mobileconfig or
.p12 stays encrypted under its password, which is never part of the link.

Content types: .mobileconfig application/x-apple-aspen-config, .p12
application/x-pkcs12, .pem application/x-x509-ca-cert, others
application/octet-stream. Requests are logged on stderr (token redacted).
With --json, stdout gets one line {"url": ...} as soon as the server listens.

Examples:
  pocketca share alice-iphone.mobileconfig
  pocketca share bob-pixel.p12 --ttl 30m
  pocketca share ~/.pocketca/ca.pem --bind 192.168.1.10 --port 8443

Ctrl-C closes the link and says how many downloads it had.

Exit codes:
  0    the file was downloaded --max-downloads times
  1    --ttl passed first, or the server could not start
  2    bad usage or bad input (no such file, a directory, larger than 10 MiB)
  130  stopped with Ctrl-C`,
    )
    .action(async (file: string, opts: { maxDownloads: number; ttl: number; bind?: string; port?: number }, command: Command) => {
      const { out } = runtimeFor(command);
      await runShare({ file, bind: opts.bind, port: opts.port, maxDownloads: opts.maxDownloads, ttlMs: opts.ttl, stream: process.stdout }, out);
    });
}
