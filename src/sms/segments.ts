/**
 * How many SMS segments a text takes (3GPP TS 23.038 alphabets, TS 23.040 concatenation).
 * Written here because no package in package.json measures it; it is small and pure.
 *
 * GSM-7: 160 septets in one segment, 153 per segment once split (the 7-byte concatenation
 * header takes the rest); a character of the extension table costs two septets (escape + char).
 * Anything outside GSM-7 makes the whole text UCS-2: 70 UTF-16 code units, 67 per segment once
 * split; a character beyond the BMP (most emoji) takes two.
 */

// The GSM 03.38 default alphabet, in table order.
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENSION = '\f^{}\\[~]|€';

const basic = new Set([...GSM7_BASIC].filter((c) => c !== '\u001b'));
const extension = new Set([...GSM7_EXTENSION]);

export type SmsEncoding = 'gsm7' | 'ucs2';

export interface SegmentCount {
  encoding: SmsEncoding;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2) the text takes. */
  units: number;
  segments: number;
  /** Units one segment holds at this count (160/153 or 70/67). */
  perSegment: number;
}

export const segmentLimits = {
  gsm7: { single: 160, multi: 153 },
  ucs2: { single: 70, multi: 67 },
} as const;

/** Septets the text takes in GSM-7, or undefined when a character is not in it. */
function gsm7Units(text: string): number | undefined {
  let units = 0;
  for (const c of text) {
    if (basic.has(c)) units += 1;
    else if (extension.has(c)) units += 2;
    else return undefined;
  }
  return units;
}

export function countSegments(text: string): SegmentCount {
  const septets = gsm7Units(text);
  const encoding: SmsEncoding = septets === undefined ? 'ucs2' : 'gsm7';
  const units = septets ?? text.length;
  const limits = segmentLimits[encoding];
  if (units <= limits.single)
    return { encoding, units, segments: units === 0 ? 0 : 1, perSegment: limits.single };
  return { encoding, units, segments: Math.ceil(units / limits.multi), perSegment: limits.multi };
}

/**
 * The text cut into segments, in order, never inside a character: an extension character's
 * two septets or a surrogate pair stay in one segment.
 */
export function splitSegments(text: string): string[] {
  const { encoding, segments, perSegment } = countSegments(text);
  if (segments <= 1) return text ? [text] : [];
  const parts: string[] = [];
  let current = '';
  let used = 0;
  for (const c of text) {
    const cost = encoding === 'gsm7' ? (extension.has(c) ? 2 : 1) : c.length;
    if (used + cost > perSegment) {
      parts.push(current);
      current = '';
      used = 0;
    }
    current += c;
    used += cost;
  }
  if (current) parts.push(current);
  return parts;
}
