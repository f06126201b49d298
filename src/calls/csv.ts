import { stringify, type Stringifier } from 'csv-stringify';

/** What a spreadsheet reads as the start of a formula (OWASP CSV injection), full-width forms too. */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
/** An E.164 number: a plus and digits only, which no spreadsheet can turn into a function call. */
const E164 = /^\+[1-9]\d{1,14}$/;

/**
 * A text cell as it is safe to open in a spreadsheet: one that would start a formula gets a
 * leading single quote (OWASP), except a well-formed E.164 number, kept as it is so numbers stay
 * readable and searchable (at worst a spreadsheet shows it without its plus).
 */
export function neutraliseCell(value: string): string {
  return FORMULA_START.test(value) && !E164.test(value) ? `'${value}` : value;
}

/**
 * A csv-stringify stream for an export: a header row, and every text cell neutralised. Every CSV
 * export uses this (csv-stringify's own escape_formulas would also quote E.164 numbers).
 */
export function csvExport(columns: readonly string[]): Stringifier {
  return stringify({ header: true, columns: [...columns], cast: { string: neutraliseCell } });
}
