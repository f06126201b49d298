/** Where a key press came from. */
export type KeySource = 'rfc2833' | 'inband';
export type DtmfMode = 'rfc2833' | 'inband' | 'both';

/**
 * A provider that sends a key both as an RFC 2833 event and as tones in the audio makes two
 * presses of one: the second one, from the other source, within this long is dropped.
 */
export const DUPLICATE_KEY_MS = 500;

/**
 * Which key presses count, by the profile's dtmf_mode: the ones from its sources, a key heard
 * both ways once.
 */
export class KeyFilter {
  #last: { digit: string; source: KeySource; at: number } | undefined;

  constructor(private readonly mode: DtmfMode) {}

  /** True when the press counts. */
  accept(digit: string, source: KeySource, at = Date.now()): boolean {
    if (this.mode !== 'both' && this.mode !== source) return false;
    const last = this.#last;
    if (last && last.digit === digit && last.source !== source && at - last.at < DUPLICATE_KEY_MS) {
      return false;
    }
    this.#last = { digit, source, at };
    return true;
  }
}
