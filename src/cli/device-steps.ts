/**
 * What the person holding the phone does: the words `share`, `enroll` and
 * `issue` print. The wording itself lives in src/formats/device-steps.ts,
 * shared with the page the device's browser shows at the link; this file
 * lays it out for the terminal.
 */
import { extname, isAbsolute, relative } from 'node:path';
import { deviceGuide, kindFromName, type DeviceFileKind, type PlatformSteps } from '../formats/device-steps';

export type DeviceKind = 'ios' | 'android' | 'desktop';

export const DEVICE_KINDS: { value: DeviceKind; name: string }[] = [
  { value: 'ios', name: 'iPhone or iPad' },
  { value: 'android', name: 'Android phone or tablet' },
  { value: 'desktop', name: 'desktop or laptop (macOS, Windows, Linux)' },
];

/** Steps are laid out for an 80-column terminal. */
const WIDTH = 80;

/** Words of `text` in lines of at most WIDTH columns: the first after `first`, the rest after `rest` (a word longer than a line stands alone). */
function wrap(text: string, first: string, rest: string): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = rest + word;
    } else {
      line += (empty ? '' : ' ') + word;
    }
    empty = false;
  }
  lines.push(line);
  return lines;
}

/** How the link reaches the device, before the guide's own first step. */
function openLink(g: PlatformSteps): string {
  const browser = g.browser ? ` in ${g.browser}` : '';
  if (g.platform === 'desktop') return `On the same network as this computer, open the link: the page there shows these steps; click Download. ${g.download}`;
  const camera = g.platform === 'ios' ? 'the Camera app' : 'the camera';
  return `On the same Wi-Fi as this computer, scan the QR code with ${camera} and open the link${browser}: the page there shows these steps; tap Download. ${g.download}`;
}

function platformLines(g: PlatformSteps): string[] {
  if (g.unsupported) return wrap([g.download, ...g.steps].join(' '), `${g.title}: `, '  ');
  const lines = [`${g.title}:`];
  [openLink(g), ...g.steps].forEach((step, i) => lines.push(...wrap(step, `  ${i + 1}. `, '     ')));
  for (const note of g.notes) lines.push(...wrap(note, '  ', '  '));
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

/** The closing lines under the steps: how long the link lives and what is not in it. */
export function linkTerms(maxDownloads: number, ttl: string, expiresAt: Date, carriesPassword: boolean): string {
  const until = expiresAt.toTimeString().slice(0, 5);
  const times = maxDownloads === 1 ? 'once' : `for ${maxDownloads} downloads`;
  // On a line of its own: together they are wider than an 80-column terminal.
  const secret = carriesPassword ? '\nThe PKCS#12 password is not in the link: type it on the device.' : '';
  return `The link works ${times} and stops at ${until} (in ${ttl}).${secret}`;
}

/** A path as the user would type it: relative when under the current directory, quoted when it needs it. */
export function shellPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  const shown = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
  return /^[A-Za-z0-9._\/-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`;
}

/** `issue`'s next steps for a client identity. */
export function issueNextSteps(files: { mobileconfig?: string; p12?: string }): string {
  const lines = ['', 'next, to put it on the device (over the LAN, with a one-time link and a QR code):'];
  if (files.mobileconfig) lines.push(`  iPhone/iPad:      pocketca share ${shellPath(files.mobileconfig)}`);
  if (files.p12) lines.push(`  Android, desktop: pocketca share ${shellPath(files.p12)}`);
  lines.push(
    '  then scan the QR code it prints and follow the steps it shows. The PKCS#12',
    '  password is typed on the device; it is never part of the link.',
  );
  return lines.join('\n');
}

/** The lines `issue` and `renew` end with: the expiry (of `what`), and how to have a phone's calendar say it in time. */
export function remindNote(what: string, notAfter: string): string {
  return `${what} expires ${notAfter.slice(0, 10)}; to be reminded in a phone's calendar:\n  pocketca remind --out reminders.ics   (then share it like a profile)`;
}
