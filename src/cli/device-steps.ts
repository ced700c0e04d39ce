/**
 * What the person holding the phone does: the words `share`, `enroll` and
 * `issue` print. Kept in one place so the three say the same thing.
 *
 * The trust step: a root certificate that arrives in a profile is installed
 * but not trusted for TLS servers until the user turns on "full trust"
 * (Apple, "Trust manually installed certificate profiles in iOS and iPadOS",
 * https://support.apple.com/en-us/102390). Presenting a client certificate
 * needs no trust in the root: the proxy checks the chain, not the phone. Full
 * trust matters only when the proxy's own server certificate comes from this
 * CA, because then Safari must accept that certificate.
 */
import { extname, isAbsolute, relative } from 'node:path';
import { fields } from './layout';

export type DeviceKind = 'ios' | 'android' | 'desktop';

export const DEVICE_KINDS: { value: DeviceKind; name: string }[] = [
  { value: 'ios', name: 'iPhone or iPad' },
  { value: 'android', name: 'Android phone or tablet' },
  { value: 'desktop', name: 'desktop or laptop (macOS, Windows, Linux)' },
];

// One line per step: Output fits them to the terminal (layout.ts), hanging after the step's number.
const IOS_PROFILE = [
  'On the iPhone or iPad, on the same Wi-Fi as this computer:',
  '  1. Scan the QR code with the Camera app and open the link in Safari (other browsers cannot install profiles). Tap Allow to download the profile.',
  '  2. Within 8 minutes, open Settings and tap "Profile Downloaded" near the top (also under Settings > General > VPN & Device Management), then Install. Enter the device passcode, then the PKCS#12 password when it is asked for.',
  "  3. The profile also installs the CA's root certificate. For the client certificate, installed is enough. Only if the server's own certificate also comes from this CA (pocketca issue --profile server), turn on full trust for the root: Settings > General > About > Certificate Trust Settings.",
];

const ANDROID_P12 = [
  'On the Android device, on the same Wi-Fi as this computer:',
  '  1. Scan the QR code with the camera and open the link; the browser saves the .p12.',
  '  2. Settings > Security > Encryption & credentials > Install a certificate > VPN & app user certificate (the names vary by maker: search Settings for "certificate"), pick the file and enter the PKCS#12 password.',
  '  3. Chrome asks which certificate to use the first time a site wants one.',
];

const DESKTOP_P12 = [
  'On the computer that will use it, on the same network as this one:',
  '  1. Open the link (or scan the QR code) and save the .p12.',
  "  2. Import it with the PKCS#12 password: macOS and Windows, double-click it (login keychain; Current User store); Firefox, Settings > Privacy & Security > View Certificates > Your Certificates > Import.",
];

const ANY_P12 = [
  'On the device, on the same Wi-Fi as this computer:',
  '  1. Scan the QR code and open the link; save the .p12.',
  "  2. Import it with the PKCS#12 password. Android: Settings > Security > Encryption & credentials > Install a certificate > VPN & app user certificate. Desktop: double-click it (macOS, Windows), or Firefox's Certificate Manager.",
  '  (An iPhone or iPad installs the .mobileconfig instead: pocketca share NAME.mobileconfig.)',
];

const CA_CERT = [
  'On the device, on the same Wi-Fi as this computer:',
  '  - iPhone/iPad: open the link in Safari and allow the download; then within 8 minutes Settings > Profile Downloaded > Install. To trust it for HTTPS servers: Settings > General > About > Certificate Trust Settings.',
  '  - Android: save it, then Settings > Security > Encryption & credentials > Install a certificate > CA certificate.',
];

/** The steps on the device for a shared file, by what the file is (and, for a .p12, the device kind when known). */
export function deviceSteps(fileName: string, device?: DeviceKind): string[] {
  switch (extname(fileName).toLowerCase()) {
    case '.mobileconfig':
      return IOS_PROFILE;
    case '.p12':
    case '.pfx':
      return device === 'android' ? ANDROID_P12 : device === 'desktop' ? DESKTOP_P12 : ANY_P12;
    case '.pem':
    case '.crt':
    case '.cer':
      return CA_CERT;
    default:
      return ['On the device, on the same network as this computer, open the link to download the file.'];
  }
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
