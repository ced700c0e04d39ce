/**
 * What the person holding the device does with a file pocketca serves: one
 * wording for the computer's terminal (src/cli/device-steps.ts) and for the
 * device's own page (src/formats/landing-page.ts), so the two never disagree.
 * Plain prose, never pre-wrapped: each screen lays it out.
 *
 * Sources for what each platform does:
 * - The trust step: a root certificate that arrives in a profile is installed
 *   but not trusted for TLS servers until the user turns on "full trust"
 *   (Apple, "Trust manually installed certificate profiles in iOS and
 *   iPadOS", https://support.apple.com/en-us/102390). Presenting a client
 *   certificate needs no trust in the root: the proxy checks the chain, not
 *   the phone. Full trust matters only when the proxy's own server
 *   certificate comes from this CA, because then Safari must accept it.
 * - Apps that do their own TLS cannot use an identity installed in Settings:
 *   they import the .p12 themselves where they support it (Home Assistant:
 *   home-assistant/iOS #4261 and #4389; Nextcloud: nextcloud/ios #4136).
 * - Android installs a client identity as a "VPN & app user certificate"
 *   (Settings > Security > Encryption & credentials), which Chrome and apps
 *   such as Home Assistant pick from (home-assistant/companion.home-assistant
 *   #788); since Android 11, CA certificates install only from Settings.
 * - Calendar files: Safari on iOS opens text/calendar in Calendar, which
 *   lists the events with Add All. Android has no one calendar app: whichever
 *   is installed may or may not import .ics files, so the steps say so, and
 *   name the import that always works (Google Calendar on a computer).
 */
import { extname } from 'node:path';

export type DevicePlatform = 'ios' | 'android' | 'desktop';

/** What a served file is to the device (src/formats/device-file.ts decides it from the bytes). */
export type DeviceFileKind = 'identity-profile' | 'scep-profile' | 'pkcs12' | 'ca-certificate' | 'certificate' | 'calendar' | 'other';

export interface PlatformSteps {
  platform: DevicePlatform;
  /** Who the steps are for: 'iPhone or iPad'. */
  title: string;
  /** The browser to open the link in, when it matters. */
  browser?: string;
  /** What happens when the download starts (the first step on either screen). */
  download: string;
  /** The steps after the download, in order. */
  steps: string[];
  /** Notes under the steps (trust, apps with their own certificate store). */
  notes: string[];
  /** The file is not for this platform: `download` says so and `steps` what to do instead. */
  unsupported?: boolean;
}

export interface GuideParams {
  kind: DeviceFileKind;
  /** The file's name without its extension (NAME of NAME.p12), for "pocketca share NAME.p12". */
  stem: string;
  /** The profile carries the PKCS#12 password (issue --profile-password): the phone does not ask for it. */
  profileHasPassword?: boolean;
}

const IOS = 'iPhone or iPad';
const ANDROID = 'Android';
const DESKTOP = 'Computer (macOS, Windows, Linux)';
const SAFARI = 'Safari (other browsers cannot install profiles)';

const PROFILE_DOWNLOADED = 'Within 8 minutes, open Settings and tap "Profile Downloaded" near the top (also under Settings > General > VPN & Device Management), then Install.';
const FULL_TRUST =
  "The profile also installs the CA's root certificate. For the client certificate, installed is enough. Only if the server's own certificate also comes from this CA (pocketca issue --profile server), turn on full trust for the root: Settings > General > About > Certificate Trust Settings.";
const OWN_TLS_APPS = (stem: string) =>
  `Apps that do their own TLS, such as Home Assistant and Nextcloud, do not use certificates installed in Settings: where the app can import a .p12 (Home Assistant: in its settings for your server), it needs the file itself (pocketca share ${stem}.p12).`;
const ANDROID_P12_INSTALL =
  'Settings > Security > Encryption & credentials > Install a certificate > VPN & app user certificate (the names vary by maker: search Settings for "certificate"), pick the file and enter the PKCS#12 password.';

/** The steps for each platform, the one that fits the file best first. */
export function deviceGuide(p: GuideParams): PlatformSteps[] {
  switch (p.kind) {
    case 'identity-profile':
      return [
        {
          platform: 'ios',
          title: IOS,
          browser: SAFARI,
          download: 'Tap Allow when Safari asks to download a configuration profile.',
          steps: [PROFILE_DOWNLOADED, p.profileHasPassword ? 'Enter the device passcode (the profile carries the PKCS#12 password).' : 'Enter the device passcode, then the PKCS#12 password when it is asked for.'],
          notes: [FULL_TRUST, OWN_TLS_APPS(p.stem)],
        },
        {
          platform: 'android',
          title: ANDROID,
          unsupported: true,
          download: 'This profile is for iPhone, iPad and Mac: Android cannot install it.',
          steps: [`Android installs the .p12 instead: pocketca share ${p.stem}.p12 on the computer.`],
          notes: [],
        },
      ];
    case 'scep-profile':
      return [
        {
          platform: 'ios',
          title: IOS,
          browser: SAFARI,
          download: 'Tap Allow when Safari asks to download a configuration profile.',
          steps: [
            PROFILE_DOWNLOADED,
            'Enter the device passcode. The device then makes its own key and asks the computer for its certificate (SCEP): keep pocketca scep running on the computer until it says done.',
          ],
          notes: [FULL_TRUST],
        },
        {
          platform: 'android',
          title: ANDROID,
          unsupported: true,
          download: 'This enrollment profile is for iPhone, iPad and Mac: Android cannot install it.',
          steps: [`For Android: pocketca issue ${p.stem}, then pocketca share ${p.stem}.p12 on the computer.`],
          notes: [],
        },
      ];
    case 'pkcs12':
      return [
        {
          platform: 'android',
          title: ANDROID,
          download: 'The browser saves the .p12 to Downloads.',
          steps: [ANDROID_P12_INSTALL, 'Chrome asks which certificate to use the first time a site wants one; apps that support client certificates (Home Assistant) ask the same way.'],
          notes: [],
        },
        {
          platform: 'ios',
          title: IOS,
          download: 'Safari offers a .p12 to Settings as a profile; to keep the file for an app instead, touch and hold the Download button and choose Download Linked File (it goes to Files > Downloads).',
          steps: [
            'For Safari and Mail: Settings > Profile Downloaded > Install, with the device passcode and the PKCS#12 password. The .mobileconfig does this better: pocketca share ' + p.stem + '.mobileconfig.',
            'For an app that imports a .p12 itself (Home Assistant: in its settings for your server): pick the file from Files and enter the PKCS#12 password.',
          ],
          notes: ['Apps that do their own TLS, such as Home Assistant and Nextcloud, do not use certificates installed in Settings.'],
        },
        {
          platform: 'desktop',
          title: DESKTOP,
          download: 'The browser saves the .p12.',
          steps: [
            'Import it with the PKCS#12 password: macOS and Windows, double-click it (login keychain; Current User store); Firefox, Settings > Privacy & Security > View Certificates > Your Certificates > Import.',
          ],
          notes: [],
        },
      ];
    case 'ca-certificate':
      return [
        {
          platform: 'ios',
          title: IOS,
          browser: SAFARI,
          download: 'Tap Allow when Safari asks to download a configuration profile.',
          steps: [PROFILE_DOWNLOADED],
          notes: ['To trust it for HTTPS servers whose certificate this CA issued: Settings > General > About > Certificate Trust Settings.'],
        },
        {
          platform: 'android',
          title: ANDROID,
          download: 'The browser saves the certificate to Downloads.',
          steps: ['Settings > Security > Encryption & credentials > Install a certificate > CA certificate, then pick the file.'],
          notes: [],
        },
      ];
    case 'calendar':
      return [
        {
          platform: 'ios',
          title: IOS,
          browser: 'Safari',
          download: 'Safari opens the file in Calendar (allow it if Safari asks first), which lists the reminders.',
          steps: ['Tap Add All.'],
          notes: [],
        },
        {
          platform: 'android',
          title: ANDROID,
          download: 'The browser saves the .ics file to Downloads.',
          steps: [
            'Open it from the download notification or the Files app: a calendar app that imports .ics files adds the events.',
            'If no app offers to, import the file into Google Calendar on a computer: calendar.google.com > Settings > Import & export.',
          ],
          notes: [],
        },
      ];
    case 'certificate':
    case 'other':
      return [];
  }
}

/** The kind a file's name alone suggests; src/formats/device-file.ts refines it from the bytes. */
export function kindFromName(fileName: string): DeviceFileKind {
  switch (extname(fileName).toLowerCase()) {
    case '.mobileconfig':
      return 'identity-profile';
    case '.p12':
    case '.pfx':
      return 'pkcs12';
    case '.pem':
    case '.crt':
    case '.cer':
      return 'ca-certificate';
    case '.ics':
      return 'calendar';
    default:
      return 'other';
  }
}

/**
 * The platform a browser's User-Agent names, as a hint for which steps to
 * show first (every platform's steps are shown: a User-Agent is easily
 * wrong, and iPadOS Safari says "Macintosh"). A Mac installs profiles as an
 * iPhone does, so it counts as iOS here.
 */
export function platformFromUserAgent(userAgent: string | undefined): DevicePlatform | undefined {
  const ua = (userAgent ?? '').slice(0, 512);
  if (/Android/i.test(ua)) return 'android';
  if (/iPhone|iPad|iPod|Macintosh/i.test(ua)) return 'ios';
  if (/Windows|X11|Linux|CrOS/i.test(ua)) return 'desktop';
  return undefined;
}

/** The guide with `first`'s steps moved to the front (the rest keep their order). */
export function ordered(guide: PlatformSteps[], first: DevicePlatform | undefined): PlatformSteps[] {
  const i = guide.findIndex((g) => g.platform === first);
  return i <= 0 ? guide : [guide[i]!, ...guide.slice(0, i), ...guide.slice(i + 1)];
}
