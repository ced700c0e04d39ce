/**
 * Running a share from the command line (`share`, and `enroll`'s last step):
 * start the server, print the steps on the device, then its QR code and URL,
 * log each request on stderr, and wait. The returned promise resolves after
 * the last allowed download and rejects with ShareExpiredError (exit 1) when
 * the TTL passes first; main turns that into the exit code.
 */
import { randomBytes } from 'node:crypto';
import { InterruptedError } from '../errors';
import type { ShareOutcome, ShareRequestLog } from '../host/share-server';
import { deviceSteps, linkTerms, shellPath, type DeviceKind } from './device-steps';
import type { DeviceFileCa } from '../formats/device-file';
import { watchInterrupt, type InterruptWatch } from './interrupt';
import { printable, showLinkCode, type Output } from './output';

export interface ShareRunOptions {
  file: string;
  bind?: string;
  port?: number;
  maxDownloads?: number;
  ttlMs?: number;
  /** For a .p12: which device's steps to show; default both kinds. */
  device?: DeviceKind;
  /** Where the URL and QR code go: stdout for `share`, stderr inside `enroll`. */
  stream: NodeJS.WriteStream;
  /** With --json, print `{"url": ...}` on stdout instead of the URL and QR code; default true (`enroll` has its own JSON result). */
  jsonLine?: boolean;
  /** A line shown right above the QR code: `enroll`'s generated PKCS#12 password, so it is on the screen while the phone asks for it. */
  aboveCode?: string;
  /** The Ctrl-C watch of the command around the share (`enroll`); default one of its own, armed before the server starts. */
  interrupt?: InterruptWatch;
}

function formatLog(e: ShareRequestLog, maxDownloads: number): string {
  const tail = e.completed === true ? `  download ${e.downloads} of ${maxDownloads}` : e.completed === false ? '  (cut off before the end)' : e.note === 'page' ? '  (the page; not a download)' : '';
  return `${e.time} ${e.remoteAddress} ${e.method} ${e.path} ${e.status}${tail}`;
}

/**
 * The CA the served file carries, to compare with the page the device
 * shows (`share`, `scep`): the fingerprint as `init` prints it.
 */
export function caFingerprintLines(ca: DeviceFileCa | undefined): string[] {
  if (!ca) return [];
  return [`CA "${printable(ca.name)}", SHA-256 fingerprint (the page on the device shows it too):`, `  ${ca.fingerprint}`];
}

/** A --bind on loopback serves nobody but this machine: say so (`share`, `scep`). */
export function warnIfLoopback(bind: string | undefined, out: Output): void {
  if (bind && /^(127\.|::1$|::ffff:127\.)/i.test(bind)) {
    out.warn(`--bind ${bind} is this machine only: a phone cannot reach the link; leave --bind out, or give this machine's LAN address`);
  }
}

export async function runShare(o: ShareRunOptions, out: Output): Promise<ShareOutcome> {
  // Ctrl-C closes the link and says so; `pocketca share FILE` serves it again (a new link).
  const interrupt = o.interrupt ?? watchInterrupt();
  try {
    return await serve(o, out, interrupt);
  } finally {
    if (!o.interrupt) interrupt.dispose();
  }
}

async function serve(o: ShareRunOptions, out: Output, interrupt: InterruptWatch): Promise<ShareOutcome> {
  const { startShare, formatDuration } = await import('../host/share-server');
  const quiet = out.options.quiet;
  warnIfLoopback(o.bind, out);
  let maxDownloads = o.maxDownloads ?? 1;
  let downloads = 0;
  const session = await startShare({
    file: o.file,
    bind: o.bind,
    port: o.port,
    maxDownloads: o.maxDownloads,
    ttlMs: o.ttlMs,
    randomBytes,
    now: () => new Date(),
    onRequest: (entry) => {
      downloads = entry.downloads;
      if (!quiet) out.tell(formatLog(entry, maxDownloads));
    },
  });
  maxDownloads = session.maxDownloads;
  interrupt.whenInterrupted(() => session.close());

  // `--json`: one line as soon as it listens, for scripts and tests to read.
  const jsonLine = out.json && o.jsonLine !== false;
  if (jsonLine) out.data(JSON.stringify({ url: session.url }) + '\n');

  if (session.noLanAddress) {
    out.warn('this machine has no LAN address: the link names 127.0.0.1, which a phone cannot reach; connect to the Wi-Fi or pass --bind ADDR');
  }
  // The screen, for 80x24 (issue 10): the steps first, then the code and the
  // URL last, so what the phone needs is what stays on the screen.
  const isP12 = /\.(p12|pfx|mobileconfig)$/i.test(session.file.name);
  const { device } = session.file;
  out.note(
    [
      `serving ${session.file.name} (${session.file.contentType}, ${session.file.size} bytes)`,
      ...(session.otherAddresses.length ? [`other addresses of this machine: ${session.otherAddresses.join(', ')} (pick one with --bind)`] : []),
      ...caFingerprintLines(device.ca),
      '',
      ...deviceSteps({ name: session.file.name, kind: device.kind, profileHasPassword: device.profileHasPassword }, o.device),
      '',
      linkTerms(session.maxDownloads, formatDuration(session.ttlMs), session.expiresAt, isP12),
    ].join('\n'),
  );
  const stopWatching = jsonLine ? () => undefined : await showLinkCode(session.url, out, o.stream, o.aboveCode);

  let outcome: ShareOutcome;
  try {
    outcome = await session.done.finally(stopWatching);
  } catch (error) {
    if (!interrupt.interrupted) throw error;
    throw new InterruptedError(
      `interrupted: the link is closed after ${downloads} of ${session.maxDownloads} allowed downloads of ${session.file.name}`,
      `to share it again: pocketca share ${shellPath(session.file.path)}`,
    );
  }
  out.note(`done: ${outcome.downloads} of ${session.maxDownloads} download${session.maxDownloads === 1 ? '' : 's'}; the link is closed`);
  return outcome;
}
