import { describe, expect, it } from 'vitest';
import { countSegments, splitSegments } from '../src/sms/segments.js';

describe('SMS segments', () => {
  it('measures Cyrillic text as UCS-2: 70 characters in one segment, 67 per part after', () => {
    const hello = 'Привет, это ваш агент';
    expect(countSegments(hello)).toMatchObject({ encoding: 'ucs2', units: 21, segments: 1 });
    expect(countSegments('я'.repeat(70)).segments).toBe(1);
    expect(countSegments('я'.repeat(71))).toMatchObject({ segments: 2, perSegment: 67 });
    expect(countSegments('я'.repeat(134)).segments).toBe(2);
    expect(countSegments('я'.repeat(135)).segments).toBe(3);
  });

  it('measures plain Latin as GSM-7: 160 in one segment, 153 per part after', () => {
    expect(countSegments('a'.repeat(160))).toMatchObject({ encoding: 'gsm7', segments: 1 });
    expect(countSegments('a'.repeat(161))).toMatchObject({ segments: 2, perSegment: 153 });
    expect(countSegments('a'.repeat(306)).segments).toBe(2);
    expect(countSegments('a'.repeat(307)).segments).toBe(3);
  });

  it('counts an extension character (€, [, ]) as two septets, still GSM-7', () => {
    expect(countSegments('€'.repeat(80))).toMatchObject({ encoding: 'gsm7', units: 160 });
    expect(countSegments('€'.repeat(81)).segments).toBe(2);
    expect(countSegments('price: 5€ [net]').encoding).toBe('gsm7');
  });

  it('turns the whole text UCS-2 for one character outside GSM-7, an emoji counting two units', () => {
    expect(countSegments('a'.repeat(100) + 'ж')).toMatchObject({ encoding: 'ucs2', segments: 2 });
    expect(countSegments('ok 👍')).toMatchObject({ encoding: 'ucs2', units: 5 });
    // The GSM-7 accents stay GSM-7; others do not.
    expect(countSegments('Ça été über').encoding).toBe('gsm7');
    expect(countSegments('ça').encoding).toBe('ucs2');
  });

  it('splits in order without cutting an extension character or a surrogate pair', () => {
    const gsm = 'a'.repeat(152) + '€' + 'b'.repeat(10);
    const parts = splitSegments(gsm);
    expect(parts.join('')).toBe(gsm);
    expect(parts[0]).toBe('a'.repeat(152));
    const emoji = 'x'.repeat(66) + '😀' + 'y'.repeat(5);
    const emojiParts = splitSegments(emoji);
    expect(emojiParts.join('')).toBe(emoji);
    expect(emojiParts[0]).toBe('x'.repeat(66));
    expect(splitSegments('short')).toEqual(['short']);
  });
});
