import { describe, expect, it } from 'vitest';
import { neutraliseCell } from '../../src/calls/csv.js';

describe('CSV cells', () => {
  it('prefixes every formula start with a single quote (OWASP)', () => {
    for (const cell of ['=1+1', '+1+1', '-1+1', '@SUM(A1)', '\tx', '\rx', '\uFF1D1', '+49 30 1']) {
      expect(neutraliseCell(cell)).toBe(`'${cell}`);
    }
  });
  it('keeps plain text and well-formed E.164 numbers as they are', () => {
    for (const cell of [
      '+4930123456',
      '+12025550123',
      'caller_hangup',
      '2026-12-01T10:00:00.000Z',
    ]) {
      expect(neutraliseCell(cell)).toBe(cell);
    }
  });
});
