import { parsePhoneNumberFromString, type NumberType } from 'libphonenumber-js/max';
import type { CostlyClass } from './classes.js';
import { COSTLY_PREFIXES } from './prefixes.js';

const BY_TYPE: Partial<Record<NonNullable<NumberType>, CostlyClass>> = {
  PREMIUM_RATE: 'premium_rate',
  SHARED_COST: 'shared_cost',
  PERSONAL_NUMBER: 'personal_number',
};

export interface Classified {
  /** The costly class the number falls in, if any. */
  class: CostlyClass | undefined;
  /** Where that came from: the prefix list or libphonenumber's number type. */
  source: 'prefix' | 'number_type' | undefined;
  /** ISO country of the number when libphonenumber knows it. */
  country: string | undefined;
}

/** The cost class of an E.164 number ('+' and digits). */
export function classifyNumber(e164: string): Classified {
  const listed = COSTLY_PREFIXES.find((p) => e164.startsWith(p.prefix));
  const parsed = parsePhoneNumberFromString(e164);
  const country = parsed?.country;
  if (listed) return { class: listed.class, source: 'prefix', country };
  const type = parsed?.getType();
  const byType = type ? BY_TYPE[type] : undefined;
  return { class: byType, source: byType ? 'number_type' : undefined, country };
}
