/**
 * The page a phone's browser gets at a `share`, `enroll` or `scep` link: the
 * device's name, what the download is, the steps for each platform (the
 * one the browser claims first), the CA's fingerprint to compare, and the
 * download link. Bytes out, no I/O.
 *
 * Self-contained on purpose: the page is served over plain HTTP from a
 * laptop on the LAN, to a phone that may have no other network. It loads
 * nothing (no script, font, image or stylesheet: one inline <style>, allowed
 * by its hash in the Content-Security-Policy, which forbids everything else),
 * links only to its own download, and holds nothing secret (never the
 * PKCS#12 password, which the person at the computer types or reads out).
 * Every string that comes from a user or a file (device name, CA name, file
 * name) is HTML-escaped.
 */
import { createHash } from 'node:crypto';
import type { DeviceFile } from './device-file';
import { deviceGuide, ordered, type DevicePlatform, type PlatformSteps } from './device-steps';

export interface LandingPageParams {
  /** What the file is (src/formats/device-file.ts). */
  file: DeviceFile;
  /** The name the download is saved as. */
  fileName: string;
  /** The download's path on the same server (an absolute path, no scheme or host). */
  downloadPath: string;
  /** The platform the browser claims, shown first; default the guide's own order. */
  platform?: DevicePlatform;
  /** Downloads the link still allows. */
  downloadsLeft: number;
  /** When the link stops, as the computer shows it: "14:05 (2026-12-03T13:05:00Z)". */
  until: string;
}

export interface LandingPage {
  html: Buffer;
  /** The Content-Security-Policy to send with it (the inline style's hash). */
  contentSecurityPolicy: string;
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1b1b1f;--bg:#fff;--muted:#5c5c66;--box:#f1f3f7;--accent:#0a58ca}
@media (prefers-color-scheme:dark){:root{--fg:#ececf1;--bg:#15161a;--muted:#a4a4b0;--box:#23252c;--accent:#6ea8fe}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:17px/1.5 -apple-system,system-ui,"Segoe UI",Roboto,sans-serif;-webkit-text-size-adjust:100%}
main{max-width:40rem;margin:0 auto;padding:1.25rem 1rem 3rem}
h1{font-size:1.6rem;line-height:1.25;margin:.25rem 0 .5rem;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:1.75rem 0 .5rem}
p,li{overflow-wrap:anywhere}
.download{display:block;margin:1.25rem 0 .5rem;padding:1rem;min-height:3.25rem;border-radius:.75rem;background:var(--accent);color:#fff;font-weight:600;font-size:1.1rem;text-align:center;text-decoration:none}
.muted{color:var(--muted);font-size:.95rem}
.check{margin:1.5rem 0;padding:.75rem 1rem;border-radius:.75rem;background:var(--box)}
.fp{font:1rem/1.6 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.02em;margin:.5rem 0}
ol{padding-left:1.5rem}
li{margin:.4rem 0}
`;

const styleHash = createHash('sha256').update(STYLE, 'utf8').digest('base64');

/**
 * Nothing but the inline style: no script, no image, no frame, no form, no
 * base URL; and no page may frame this one.
 */
export const LANDING_PAGE_CSP = `default-src 'none'; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/** HTML text and attribute escaping (&, <, >, ", '). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The fingerprint as the computer prints it, allowed to break after each colon on a narrow screen. */
const fingerprintHtml = (fingerprint: string) => escapeHtml(fingerprint).replace(/:/g, ':<wbr>');

function heading(p: LandingPageParams): string {
  switch (p.file.kind) {
    case 'identity-profile':
    case 'scep-profile':
    case 'pkcs12':
      return p.file.stem;
    case 'ca-certificate':
      return 'CA certificate';
    case 'calendar':
      return 'Certificate reminders';
    default:
      return p.fileName;
  }
}

function lead(p: LandingPageParams): string {
  const { file } = p;
  const ca = file.ca ? ` “${escapeHtml(file.ca.name)}”` : '';
  const device = escapeHtml(file.stem);
  switch (file.kind) {
    case 'identity-profile':
      return `This installs ${device}’s client certificate and private key, with the certificate of the CA${ca} that issued it, as a configuration profile.`;
    case 'scep-profile':
      return `This installs an enrollment profile for ${device}: the device makes its own key and asks the computer for its certificate (SCEP), so the key never leaves the device. The profile also installs the certificate of the CA${ca}.`;
    case 'pkcs12':
      return `This downloads ${escapeHtml(p.fileName)}: ${device}’s client certificate and private key, encrypted under its PKCS#12 password.`;
    case 'ca-certificate':
      return `This downloads the certificate of the CA${ca} (a certificate only, no private key).`;
    case 'certificate':
      return `This downloads ${escapeHtml(p.fileName)}, a certificate (no private key).`;
    case 'calendar':
      return 'This adds reminders to your calendar: when each certificate expires, when the CRL must be published again, and when the CA expires, each with alarms 30 and 7 days before. Adding a newer file again updates them.';
    case 'other':
      return `This downloads ${escapeHtml(p.fileName)}.`;
  }
}

/** Where the password comes from, for the files that need one; never the password itself. */
function passwordNote(file: DeviceFile): string | undefined {
  if ((file.kind === 'identity-profile' && !file.profileHasPassword) || file.kind === 'pkcs12') {
    return 'The PKCS#12 password is not on this page: type the one the computer showed when the certificate was made.';
  }
  return undefined;
}

function terms(p: LandingPageParams): string {
  const times = p.downloadsLeft === 1 ? 'once' : `${p.downloadsLeft} more times`;
  return `The download works ${times} and the link stops at ${escapeHtml(p.until)}. Viewing this page does not use it up.`;
}

function compare(file: DeviceFile): string {
  if (!file.ca) return '';
  const onIphone =
    file.kind === 'identity-profile' || file.kind === 'scep-profile' || file.kind === 'ca-certificate'
      ? '<p class="muted">This page travels over plain Wi-Fi; an iPhone shows the fingerprint itself before you tap Install (More Details, then the CA’s certificate): that is the one to compare.</p>'
      : '';
  return [
    '<section class="check" aria-labelledby="check">',
    '<h2 id="check">Compare with the computer’s screen</h2>',
    `<p>SHA-256 fingerprint of the CA “${escapeHtml(file.ca.name)}”:</p>`,
    `<p class="fp">${fingerprintHtml(file.ca.fingerprint)}</p>`,
    onIphone,
    '</section>',
  ].join('\n');
}

function platformSection(g: PlatformSteps): string {
  if (g.unsupported) return ['<section>', `<h2>${escapeHtml(g.title)}</h2>`, ...[g.download, ...g.steps].map((s) => `<p>${escapeHtml(s)}</p>`), '</section>'].join('\n');
  const items = [g.download, ...g.steps].map((s) => `<li>${escapeHtml(s)}</li>`).join('\n');
  return [
    '<section>',
    `<h2>${escapeHtml(g.title)}</h2>`,
    ...(g.browser ? [`<p class="muted">Open this page in ${escapeHtml(g.browser)}.</p>`] : []),
    `<ol>\n${items}\n</ol>`,
    ...g.notes.map((n) => `<p class="muted">${escapeHtml(n)}</p>`),
    '</section>',
  ].join('\n');
}

export function renderLandingPage(p: LandingPageParams): LandingPage {
  const title = heading(p);
  const guide = ordered(deviceGuide({ kind: p.file.kind, stem: p.file.stem, profileHasPassword: p.file.profileHasPassword }), p.platform);
  const password = passwordNote(p.file);
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(title)} · pocketca</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>${lead(p)}</p>`,
    `<a class="download" id="download" href="${escapeHtml(p.downloadPath)}">Download ${escapeHtml(p.fileName)}</a>`,
    `<p class="muted">${terms(p)}</p>`,
    ...(password ? [`<p>${escapeHtml(password)}</p>`] : []),
    compare(p.file),
    ...guide.map(platformSection),
    '</main>',
    '</body>',
    '</html>',
    '',
  ]
    .filter((line) => line !== '')
    .join('\n');
  return { html: Buffer.from(html + '\n', 'utf8'), contentSecurityPolicy: LANDING_PAGE_CSP };
}
