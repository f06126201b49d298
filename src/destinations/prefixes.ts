import type { CostlyClass } from './classes.js';

/**
 * Ranges refused by prefix, checked before libphonenumber's number types: the non-geographic
 * codes of satellite and international networks (its metadata types some of them, e.g. +870 as
 * MOBILE, and reads most of +881/+882/+883 as invalid), the international premium and shared
 * cost codes, and national premium ranges whose longer numbers it reads as invalid (and so
 * leaves untyped). Each entry is documented in docs/security.md; an operator allows a class
 * per trunk or globally, never one prefix of this list.
 */
export const COSTLY_PREFIXES: readonly { prefix: string; class: CostlyClass; what: string }[] = [
  { prefix: '+870', class: 'international_network', what: 'Inmarsat (satellite)' },
  { prefix: '+878', class: 'international_network', what: 'Universal Personal Telecommunications' },
  { prefix: '+881', class: 'international_network', what: 'Global Mobile Satellite System' },
  { prefix: '+882', class: 'international_network', what: 'International Networks' },
  { prefix: '+883', class: 'international_network', what: 'International Networks' },
  { prefix: '+888', class: 'international_network', what: 'OCHA telecommunications' },
  { prefix: '+979', class: 'premium_rate', what: 'International Premium Rate Service' },
  { prefix: '+808', class: 'shared_cost', what: 'International Shared Cost Service' },
  { prefix: '+1900', class: 'premium_rate', what: 'North American 900 numbers' },
  { prefix: '+1976', class: 'premium_rate', what: 'North American 976 numbers' },
  { prefix: '+49900', class: 'premium_rate', what: 'Germany 0900' },
  { prefix: '+61190', class: 'premium_rate', what: 'Australia 190' },
];
