import { describe, expect, it } from 'vitest';
import { normaliseAllowedAddress, parseHostPort } from '../../src/trunks/addresses.js';
import { toE164, toWireFormat } from '../../src/trunks/phone.js';

describe('phone numbers', () => {
  it('normalises international and national forms to E.164', () => {
    expect(toE164('+7 (495) 123-45-67')).toEqual({ ok: true, e164: '+74951234567' });
    expect(toE164('8 495 123 45 67', 'RU')).toEqual({ ok: true, e164: '+74951234567' });
    expect(toE164('74951234567')).toEqual({ ok: true, e164: '+74951234567' });
    expect(toE164('(212) 555-0100', 'US')).toEqual({ ok: true, e164: '+12125550100' });
  });

  it('rejects what is not a phone number, saying why', () => {
    const letters = toE164('call me');
    expect(letters.ok).toBe(false);
    expect(!letters.ok && letters.error).toContain('not a phone number');
    const short = toE164('+7495');
    expect(!short.ok && short.error).toContain('not a possible phone number');
  });

  it('writes numbers the way the provider sends them', () => {
    expect(toWireFormat('+74951234567', 'e164_without_plus')).toBe('74951234567');
    expect(toWireFormat('+14155550100', 'e164')).toBe('+14155550100');
  });
});

describe('allowed addresses and hosts', () => {
  it('accepts IPs and CIDRs in canonical form', () => {
    expect(normaliseAllowedAddress(' 203.0.113.10 ')).toEqual({ ok: true, value: '203.0.113.10' });
    expect(normaliseAllowedAddress('198.51.100.0/24')).toEqual({
      ok: true,
      value: '198.51.100.0/24',
    });
    expect(normaliseAllowedAddress('2001:db8::/32')).toEqual({ ok: true, value: '2001:db8::/32' });
  });

  it('refuses CIDRs with host bits and suggests the network', () => {
    const result = normaliseAllowedAddress('10.0.0.5/24');
    expect(!result.ok && result.error).toContain('did you mean 10.0.0.0/24');
    expect(normaliseAllowedAddress('10.0.0.0/33').ok).toBe(false);
    expect(normaliseAllowedAddress('sip.example.com').ok).toBe(false);
  });

  it('parses host:port and refuses SIP URIs', () => {
    expect(parseHostPort('sip.carrier.example:5080')).toEqual({
      ok: true,
      host: 'sip.carrier.example',
      port: 5080,
    });
    expect(parseHostPort('[2001:db8::1]:5061')).toEqual({
      ok: true,
      host: '2001:db8::1',
      port: 5061,
    });
    expect(parseHostPort('sip:user@x.example').ok).toBe(false);
    expect(parseHostPort('x.example:99999').ok).toBe(false);
  });
});
