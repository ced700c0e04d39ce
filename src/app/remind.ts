/**
 * `pocketca remind`: the dates on which something of this CA stops working,
 * as calendar events for the phone the person looks at every day (the
 * laptop that holds the CA stays in a drawer, and with it `doctor`'s
 * warnings). One event per valid certificate at its expiry (devices,
 * servers and intermediates: when an intermediate expires, everything the
 * online CA issued stops working), one at the CRL's nextUpdate (the proxies
 * refuse every client once it passes) and one at the CA's own expiry. Each
 * says what to run. Read-only: nothing is signed, recorded or unlocked.
 *
 * UIDs are stable so that a newer file replaces the events of an older one
 * when imported: a certificate's is made of its serial and the CA's
 * fingerprint; the CRL's and the CA's of the CA's fingerprint alone, the
 * CRL's with the CRL number as its SEQUENCE (a later CRL moves the event).
 */
import { encodeCalendar, type CalendarEvent } from '../formats/icalendar';
import type { ParsedCertificate } from '../formats/x509';
import { commonNameOf, decodeName, formatName } from '../formats/x500-name';
import { listCertificates, type CertificateRow } from '../store/certificates';
import type { AppContext } from '../host/context';
import { crlStatus } from './crl-status';
import { CA_WARNING_DAYS } from './doctor';

/** Alarms before each expiry, in days (SPEC "A device's life without MDM"). */
export const ALARM_DAYS = [30, 7] as const;
/** The CA's expiry also warns when doctor starts to: a new root must reach every device. */
const CA_ALARM_DAYS = [CA_WARNING_DAYS, ...ALARM_DAYS];
const PRODUCT_ID = '-//pocketca//remind//EN';
/** Where `pocketca proxy` installs the CRL on the proxy unless told otherwise (--install-dir). */
const DEFAULT_INSTALL_DIR = '/etc/pocketca';

export interface Reminder {
  /** The calendar UID, stable across exports. */
  uid: string;
  kind: 'certificate' | 'crl' | 'ca';
  /** The moment it expires, ISO-8601 UTC. */
  at: string;
  summary: string;
  description: string;
  /** Alarms, in days before `at`. */
  alarmDaysBefore: number[];
  /** certificate: which one. */
  serial?: string;
  name?: string;
  profile?: string;
  /** crl: its number. */
  crlNumber?: number;
}

export interface RemindResult {
  reminders: Reminder[];
  /** The .ics file (RFC 5545). */
  ics: Buffer;
  /** Why the CRL has no event, when it has none (unreadable crl.pem, no nextUpdate). */
  crlSkipped?: string;
}

/** How every UID of this CA's reminders ends: 32 hex digits (128 bits) of its fingerprint (`remind --out` replaces a file with such UIDs). */
export function uidSuffix(ca: ParsedCertificate): string {
  return `.${ca.fingerprintSha256.replace(/:/g, '').toLowerCase().slice(0, 32)}@pocketca`;
}

const PROFILE_WORDS: Record<string, string> = { client: 'client certificate', server: 'server certificate', intermediate: 'intermediate CA certificate' };

/** What to run before a certificate expires, by how it was made. */
function renewalSteps(row: CertificateRow): string {
  const name = row.name;
  if (row.source === 'scep') {
    return `Enroll it again, with the device at hand:\n  pocketca scep ${name}\nInstalling the new profile replaces the old one on the device.`;
  }
  if (row.profile === 'intermediate') {
    return `Have the online CA make a new CSR, then:\n  pocketca renew ${name} --csr NEW.csr\nand install the new certificate on the online CA.`;
  }
  if (row.source === 'sign') {
    return `Make a new CSR on the device (its key never left it), then:\n  pocketca renew ${name} --csr NEW.csr`;
  }
  if (row.profile === 'server') {
    return `Renew it:\n  pocketca renew ${name}\nthen install the new ${name}.pem and ${name}.key.pem on the server and reload it.`;
  }
  return `Renew it:\n  pocketca renew ${name}\nthen put it on the device: pocketca share ${name}.mobileconfig (iPhone, iPad; it replaces the old profile) or pocketca share ${name}.p12.`;
}

function certificateReminder(row: CertificateRow, caName: string, suffix: string): Reminder {
  const what = PROFILE_WORDS[row.profile] ?? 'certificate';
  const summary = `${row.name}: ${what} expires`;
  const description = [
    `The ${what} of ${row.name} (serial ${row.serial}, CA "${caName}") expires at ${row.notAfter}; after that the proxy refuses it.`,
    '',
    `On the computer that holds the CA, before then. ${renewalSteps(row)}`,
    '',
    'Then run pocketca remind again for the new date.',
  ].join('\n');
  return {
    uid: `cert-${row.serial}${suffix}`,
    kind: 'certificate',
    at: row.notAfter,
    summary,
    description,
    alarmDaysBefore: [...ALARM_DAYS],
    serial: row.serial,
    name: row.name,
    profile: row.profile,
  };
}

export function remind(ctx: AppContext): RemindResult {
  const ca = ctx.home.caCertificate();
  const db = ctx.home.database();
  const now = ctx.now();
  const attributes = decodeName(ca.subjectDer);
  const caName = commonNameOf(attributes) ?? formatName(attributes);
  const suffix = uidSuffix(ca);
  const reminders: Reminder[] = listCertificates(db, { status: 'valid', now: now.toISOString() }).map((row) => certificateReminder(row, caName, suffix));

  let crlSkipped: string | undefined;
  const crl = crlStatus(ctx.home.crlPath, ca, now);
  if (typeof crl === 'string') crlSkipped = crl;
  else if (!crl.signedByCa) crlSkipped = `${ctx.home.crlPath} is not signed by this CA`;
  else if (crl.nextUpdate === null) crlSkipped = 'the CRL has no nextUpdate';
  else {
    reminders.push({
      uid: `crl-next-update${suffix}`,
      kind: 'crl',
      at: crl.nextUpdate,
      summary: `${caName}: CRL expires, proxies refuse every client`,
      description: [
        `The CRL of the CA "${caName}"${crl.number === undefined ? '' : ` (number ${crl.number})`} expires at ${crl.nextUpdate}: from then on nginx, Apache and Mosquitto refuse every client certificate of this CA.`,
        '',
        'On the computer that holds the CA, before then:',
        '  pocketca crl',
        `then copy ${ctx.home.crlPath} to each proxy (where \`pocketca proxy\` put it: ${DEFAULT_INSTALL_DIR}/crl.pem unless --install-dir said otherwise) and reload the proxy.`,
        '',
        'Then run pocketca remind again: this event moves to the new CRL\'s date.',
      ].join('\n'),
      alarmDaysBefore: [...ALARM_DAYS],
      ...(crl.number === undefined ? {} : { crlNumber: crl.number }),
    });
  }

  const caNotAfter = new Date(ca.x509.validTo).toISOString();
  reminders.push({
    uid: `ca-expiry${suffix}`,
    kind: 'ca',
    at: caNotAfter,
    summary: `${caName}: CA certificate expires`,
    description: [
      `The CA certificate "${caName}" (SHA-256 ${ca.fingerprintSha256}) expires at ${caNotAfter}: after that nothing it signed is trusted.`,
      '',
      `Start well before: make a new CA in another home (pocketca init --home DIR), issue every device and server again from it, and point the proxies at its bundle and CRL. pocketca doctor warns from ${CA_WARNING_DAYS} days before.`,
    ].join('\n'),
    alarmDaysBefore: CA_ALARM_DAYS,
  });

  reminders.sort((a, b) => a.at.localeCompare(b.at) || a.uid.localeCompare(b.uid));
  const events: CalendarEvent[] = reminders.map((r) => ({
    uid: r.uid,
    at: new Date(r.at),
    summary: r.summary,
    description: r.description,
    alarmDaysBefore: r.alarmDaysBefore,
    ...(r.kind === 'crl' && r.crlNumber !== undefined ? { sequence: r.crlNumber } : {}),
  }));
  return { reminders, ics: encodeCalendar({ productId: PRODUCT_ID, stamp: now, events }), ...(crlSkipped ? { crlSkipped } : {}) };
}
