/**
 * What the person holding the phone does: the words `share`, `enroll` and
 * `issue` print. The wording itself lives in src/formats/device-steps.ts,
 * shared with the page the device's browser shows at the link; this file
 * lays it out for the terminal.
 */
import { extname, isAbsolute, relative } from 'node:path';
import { deviceGuide, kindFromName, type DeviceFileKind, type PlatformSteps } from '../formats/device-steps';
import { fields } from './layout';

export type DeviceKind = 'ios' | 'android' | 'desktop';

export const DEVICE_KINDS: { value: DeviceKind; name: string }[] = [
  { value: 'ios', name: 'iPhone or iPad' },
  { value: 'android', name: 'Android phone or tablet' },
  { value: 'desktop', name: 'desktop or laptop (macOS, Windows, Linux)' },
];

/** How the link reaches the device, before the guide's own first step. */
function openLink(g: PlatformSteps): string {
  const browser = g.browser ? ` in ${g.browser}` : '';
  if (g.platform === 'desktop') return `On the same network as this computer, open the link: the page there shows these steps; click Download. ${g.download}`;
  const camera = g.platform === 'ios' ? 'the Camera app' : 'the camera';
  return `On the same Wi-Fi as this computer, scan the QR code with ${camera} and open the link${browser}: the page there shows these steps; tap Download. ${g.download}`;
}

// One line per step: Output fits them to the terminal (layout.ts), hanging after the step's number.
function platformLines(g: PlatformSteps): string[] {
  if (g.unsupported) return [`${g.title}: ${[g.download, ...g.steps].join(' ')}`];
  const lines = [`${g.title}:`];
  [openLink(g), ...g.steps].forEach((step, i) => lines.push(`  ${i + 1}. ${step}`));
  for (const note of g.notes) lines.push(`  ${note}`);
  return lines;
}

export interface StepsFile {
  /** The file's name (NAME.p12). */
  name: string;
  /** What it is, when read from its bytes; default from its name. */
  kind?: DeviceFileKind;
  /** The profile carries the PKCS#12 password. */
  profileHasPassword?: boolean;
}

/** The steps on the device for a shared file, by what the file is (and the device kind when known: only its steps). */
export function deviceSteps(file: StepsFile, device?: DeviceKind): string[] {
  const kind = file.kind ?? kindFromName(file.name);
  const stem = file.name.slice(0, file.name.length - extname(file.name).length) || file.name;
  const guide = deviceGuide({ kind, stem, profileHasPassword: file.profileHasPassword });
  if (guide.length === 0) return ['On the device, on the same network as this computer, open the link to download the file.'];
  const shown = device ? guide.filter((g) => g.platform === device) : guide;
  const lines: string[] = [];
  for (const g of shown.length ? shown : guide) {
    if (lines.length) lines.push('');
    lines.push(...platformLines(g));
  }
  return lines;
}

/**
 * A moment a person waits for, in pocketca's one voice: ISO-8601 UTC to the
 * second, then the local time of day (what the clock on the wall says) and,
 * when given, how long from now: `2026-05-01T09:10:00Z (11:10 local, in 10m)`.
 */
export function waitUntil(at: Date, inText?: string): string {
  const local = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')} local`;
  return `${at.toISOString().replace(/\.\d{3}Z$/, 'Z')} (${local}${inText ? `, in ${inText}` : ''})`;
}

/** The closing lines under the steps: how long the link lives and what is not in it. */
export function linkTerms(maxDownloads: number, ttl: string, expiresAt: Date, carriesPassword: boolean): string {
  const times = maxDownloads === 1 ? 'once' : `for ${maxDownloads} downloads`;
  const secret = carriesPassword ? ' The PKCS#12 password is not in the link: type it on the device.' : '';
  return `The link works ${times} and stops at ${waitUntil(expiresAt, ttl)}.${secret}`;
}

/** A path as the user would type it: relative when under the current directory, quoted when it needs it. */
export function shellPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  const shown = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
  return /^[A-Za-z0-9._\/-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`;
}

/** `issue`'s next steps for a client identity. */
export function issueNextSteps(files: { mobileconfig?: string; p12?: string }): string {
  const commands: [string, string][] = [];
  if (files.mobileconfig) commands.push(['iPhone/iPad:', `pocketca share ${shellPath(files.mobileconfig)}`]);
  if (files.p12) commands.push(['Android, desktop:', `pocketca share ${shellPath(files.p12)}`]);
  return [
    '',
    'next, to put it on the device (over the LAN, with a one-time link and a QR code):',
    ...fields(commands, '  '),
    '  then scan the QR code it prints and follow the steps it shows. The PKCS#12 password is typed on the device; it is never part of the link.',
  ].join('\n');
}

/**
 * `issue --profile server`'s next step: the proxy configuration that uses
 * this certificate and key. The command continues with a backslash: it is
 * one command to copy, whatever the width of the terminal.
 */
export function serverNextSteps(files: { cert?: string; key?: string }): string {
  return [
    '',
    'next, the proxy in front of the service, asking devices for their certificates:',
    `  pocketca proxy nginx --cert ${shellPath(files.cert ?? 'NAME.pem')} --key ${shellPath(files.key ?? 'NAME.key.pem')} \\`,
    '      --upstream http://127.0.0.1:8080 --out-dir to-proxy',
    '  (apache or mosquitto instead of nginx; --upstream is where the service listens)',
  ].join('\n');
}

/** `renew` of a server certificate: the new files go on the server, not on a device. */
export function serverRenewSteps(files: { cert?: string; key?: string; fullchain?: string }): string {
  const names = [files.cert, files.key, files.fullchain].filter((f): f is string => f !== undefined).map((f) => shellPath(f));
  return `next: install the new certificate and key on the server (${names.join(', ')}) and reload it; a configuration made by pocketca proxy --out-dir: run the same command again and copy its files over`;
}

/** The lines `issue` and `renew` end with: the expiry (of `what`), and how to have a phone's calendar say it in time. */
export function remindNote(what: string, notAfter: string): string {
  return `${what} expires ${notAfter.slice(0, 10)}; to be reminded in a phone's calendar:\n  pocketca remind --out reminders.ics   (then share it like a profile)`;
}
