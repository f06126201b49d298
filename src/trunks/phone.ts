import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { NumberFormat } from './provider-presets.js';

/**
 * Normalises a phone number to E.164 ('+' and digits). A number without '+' is read as national
 * in `defaultCountry` when one is given (a Novofon trunk reads "8 495 123-45-67" as Russian),
 * otherwise as international digits. Returns an error message instead of throwing.
 */
export function toE164(
  input: string,
  defaultCountry?: string,
): { ok: true; e164: string } | { ok: false; error: string } {
  const trimmed = input.trim();
  if (!/^[+\d(][\d\s().-]*$/.test(trimmed)) {
    return {
      ok: false,
      error: `"${input}" is not a phone number (digits, spaces, ( ) - . and a leading +)`,
    };
  }
  const digits = trimmed.replace(/[^\d]/g, '');
  const candidates = trimmed.startsWith('+')
    ? [parsePhoneNumberFromString(`+${digits}`)]
    : [
        defaultCountry
          ? parsePhoneNumberFromString(digits, defaultCountry as CountryCode)
          : undefined,
        parsePhoneNumberFromString(`+${digits}`),
      ];
  for (const parsed of candidates) {
    if (parsed?.isPossible()) return { ok: true, e164: parsed.number };
  }
  return {
    ok: false,
    error: `"${input}" is not a possible phone number${defaultCountry ? ` (read as ${defaultCountry} when no + is given)` : ''}; use E.164, e.g. +74951234567`,
  };
}

/** The number as the provider writes it on the wire, which is what LiveKit SIP matches. */
export function toWireFormat(e164: string, format: NumberFormat): string {
  return format === 'e164_without_plus' ? e164.replace(/^\+/, '') : e164;
}
