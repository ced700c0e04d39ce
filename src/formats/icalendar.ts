/**
 * iCalendar (RFC 5545) files of reminders: one VEVENT at each moment
 * something stops working, each with DISPLAY alarms days before. Bytes out,
 * no I/O.
 *
 * What RFC 5545 asks of the text, and where it is done here:
 * - §3.1: content lines end in CRLF and are folded at 75 octets (not
 *   characters): a longer line continues on the next after a single space.
 *   Folding never splits a UTF-8 sequence (foldLine breaks between code
 *   points).
 * - §3.3.11: TEXT values escape backslash, semicolon and comma with a
 *   backslash, and a line break as \n; control characters other than HTAB
 *   are not allowed, so they are dropped.
 * - §3.3.5: DATE-TIME in UTC as YYYYMMDDTHHMMSSZ.
 * - §3.6.1: a VEVENT with a DATE-TIME DTSTART and no DTEND ends where it
 *   starts: an instant, which is what an expiry is.
 * - §3.6.6: a DISPLAY alarm has a DESCRIPTION and a TRIGGER; a negative
 *   duration triggers before the start.
 * - §3.8.4.7: UID is globally unique and stable, so a client that imports a
 *   newer file updates the events it has instead of adding copies; SEQUENCE
 *   (§3.8.7.4) says which of two versions is the newer.
 */

export interface CalendarEvent {
  /** Globally unique and stable across exports. */
  uid: string;
  /** The instant the event marks (written in UTC). */
  at: Date;
  summary: string;
  description: string;
  /** DISPLAY alarms, each this many days before `at`. */
  alarmDaysBefore: readonly number[];
  /** The revision of the event (a moving deadline, such as the next CRL); default none (0). */
  sequence?: number;
}

export interface CalendarParams {
  /** PRODID (§3.7.3): who made the file, "-//pocketca//remind//EN". */
  productId: string;
  /** DTSTAMP of every event (§3.8.7.2): when the file was made. */
  stamp: Date;
  events: readonly CalendarEvent[];
}

/** Octets of a content line before it is folded (§3.1), CRLF not counted. */
export const MAX_LINE_OCTETS = 75;

/** A TEXT value (§3.3.11): \ ; , escaped, line breaks as \n, other control characters dropped. */
export function escapeText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .replace(/[\\;,\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/**
 * One content line folded into lines of at most 75 octets (§3.1), joined by
 * CRLF and a space. Breaks fall between code points, never inside a UTF-8
 * sequence; a continuation line's leading space counts toward its 75.
 */
export function foldLine(line: string): string {
  const parts: string[] = [];
  let current = '';
  let octets = 0;
  let limit = MAX_LINE_OCTETS;
  for (const ch of line) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (octets + size > limit) {
      parts.push(current);
      current = '';
      octets = 0;
      limit = MAX_LINE_OCTETS - 1;
    }
    current += ch;
    octets += size;
  }
  parts.push(current);
  return parts.join('\r\n ');
}

/** DATE-TIME in UTC, form #2 of §3.3.5: 20271206T120000Z (seconds kept, milliseconds dropped). */
export function formatDateTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** The whole file: VCALENDAR with one VEVENT per event, CRLF line ends, folded. */
export function encodeCalendar(p: CalendarParams): Buffer {
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', `PRODID:${escapeText(p.productId)}`, 'CALSCALE:GREGORIAN'];
  const stamp = formatDateTime(p.stamp);
  for (const e of p.events) {
    lines.push(
      'BEGIN:VEVENT',
      `UID:${escapeText(e.uid)}`,
      `DTSTAMP:${stamp}`,
      `DTSTART:${formatDateTime(e.at)}`,
      ...(e.sequence ? [`SEQUENCE:${e.sequence}`] : []),
      `SUMMARY:${escapeText(e.summary)}`,
      `DESCRIPTION:${escapeText(e.description)}`,
      // An instant that takes no time: shown, but the calendar stays free.
      'TRANSP:TRANSPARENT',
    );
    for (const days of e.alarmDaysBefore) {
      lines.push('BEGIN:VALARM', 'ACTION:DISPLAY', `DESCRIPTION:${escapeText(`${e.summary} (in ${days} day${days === 1 ? '' : 's'})`)}`, `TRIGGER:-P${days}D`, 'END:VALARM');
    }
    lines.push('END:VEVENT');
  }
  lines.push('END:VCALENDAR');
  return Buffer.from(lines.map(foldLine).join('\r\n') + '\r\n', 'utf8');
}
