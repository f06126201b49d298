import { describe, expect, it } from 'vitest';
import {
  checkDestination,
  destinationOf,
  effectivePolicy,
  type DestinationPolicy,
} from '../../src/destinations/index.js';

const open: DestinationPolicy = { allowedPrefixes: [], allowClasses: [], sipHosts: [] };
const verdict = (target: string, policy = open, hosts: string[] = []) =>
  checkDestination(destinationOf(target)!, policy, hosts);

describe('destination policy', () => {
  it('refuses the costly classes by default and lets an allowed class through', () => {
    expect(verdict('+19005550123')).toMatchObject({ allowed: false, rule: 'premium_rate' });
    expect(verdict('tel:+881631234567')).toMatchObject({ rule: 'international_network' });
    expect(verdict('+447012345678')).toMatchObject({ rule: 'personal_number' });
    expect(verdict('+80812345678')).toMatchObject({ rule: 'shared_cost' });
    expect(verdict('+4930123456')).toEqual({ allowed: true });
    const premiumOk = { ...open, allowClasses: ['premium_rate' as const] };
    expect(verdict('+19005550123', premiumOk)).toEqual({ allowed: true });
  });

  it('an allow-list of prefixes refuses every other country', () => {
    const policy = { ...open, allowedPrefixes: ['+49', '+1212'] };
    expect(verdict('+4930123456', policy)).toEqual({ allowed: true });
    expect(verdict('+12125550123', policy)).toEqual({ allowed: true });
    expect(verdict('+13105550123', policy)).toMatchObject({ rule: 'country_not_allowed' });
  });

  it('sip: targets only to known hosts, and the number in the user part is checked', () => {
    expect(verdict('sip:bob@evil.example')).toMatchObject({ rule: 'sip_host_not_allowed' });
    expect(verdict('sip:bob@pbx.example.com:5060', open, ['pbx.example.com'])).toEqual({
      allowed: true,
    });
    expect(verdict('sips:00881631234567@PBX.example.com', open, ['pbx.example.com'])).toMatchObject(
      { rule: 'international_network' },
    );
    const listed = { ...open, sipHosts: ['[::1]'] };
    expect(verdict('sip:bob@[::1]:5070', listed)).toEqual({ allowed: true });
  });

  it("a trunk's fields replace the global ones, the rest stay", () => {
    const global = { allowedPrefixes: ['+49'], allowClasses: [], sipHosts: ['a.example'] };
    expect(effectivePolicy(global, { allow_classes: ['shared_cost'] })).toEqual({
      allowedPrefixes: ['+49'],
      allowClasses: ['shared_cost'],
      sipHosts: ['a.example'],
    });
    expect(effectivePolicy(global, null)).toEqual(global);
  });
});
