// SIP trunk provider presets. Every value here is either sourced (see `sources`) or left empty;
// docs/providers.md explains each preset, what the admin still supplies and how sure each value is.

export const providerIds = ['novofon', 'skyetel', 'didforsale', 'twilio', 'generic'] as const;
export type ProviderId = (typeof providerIds)[number];
export type SipTransport = 'udp' | 'tcp' | 'tls';
/** How the provider writes numbers in the Request-URI/To/From user part. */
export type NumberFormat = 'e164' | 'e164_without_plus';
export interface ProviderPreset {
  id: ProviderId;
  displayName: string;
  /** ISO 3166 alpha-2 country used to parse national-format numbers, e.g. 'RU'. */
  defaultCountry?: string;
  numberFormat: NumberFormat;
  inbound: {
    /** Published signalling source addresses (IPs or CIDRs) the provider sends INVITEs from. */
    allowedAddresses: string[];
    /** True when the provider only delivers calls to a registered contact by default. */
    requiresRegistration: boolean;
  };
  outbound: {
    /** Default SIP proxy host (no port), if the provider publishes one; '' when account-specific. */
    address: string;
    port: number;
    transport: SipTransport;
  };
  registrar?: { host: string; port: number; transport: SipTransport };
  codecs: string[]; // e.g. ['PCMA', 'PCMU'] in the provider's preferred order
  /** Where each fact came from: URLs or document titles, one entry per fact group. */
  sources: string[];
  notes: string;
}

export const providerPresets: Record<ProviderId, ProviderPreset> = {
  novofon: {
    id: 'novofon',
    displayName: 'Novofon',
    defaultCountry: 'RU',
    numberFormat: 'e164_without_plus',
    inbound: { allowedAddresses: [], requiresRegistration: true },
    outbound: { address: 'sip.novofon.ru', port: 5060, transport: 'udp' },
    registrar: { host: 'sip.novofon.ru', port: 5060, transport: 'udp' },
    codecs: ['PCMA', 'PCMU'],
    sources: [
      'SIP server sip.novofon.ru, codecs alaw then ulaw, registration by default: Novofon "Asterisk" setup instruction (novofon.com/instructions), as reproduced verbatim in public repositories; the official page itself could not be read directly',
      'Inbound without REGISTER ("SIP URI" method: forward the virtual number to 7XXXXXXXXXX@<your IP>) and called number in the CALLED_DID header as 74951111111: same Novofon Asterisk instruction',
      'IP-authenticated trunk for outbound; "incoming calls can be received ... without registration using SIP URI": Zadarma FAQ "What is a SIP trunk? (authorization via IP)", https://zadarma.com/en/support/faq/voip/what_is_the_sip_trunk/ (Novofon was the Russian brand of Zadarma)',
    ],
    notes:
      "A Novofon SIP login receives calls only while a device is REGISTERed, and LiveKit SIP does not register (the gateway's SIP edge does, for a trunk with register: true; docs/edge.md). Without the edge, set the virtual number's forwarding to \"SIP URI\" in the Novofon account (Settings -> Virtual number) as <number without +>@<LiveKit SIP host> (the Novofon example is 7XXXXXXXXXX@<IP>). LiveKit matches the user part of the To header; Novofon does not say whether To carries the same number, so confirm with a SIP trace on the first call. Novofon publishes no list of signalling source addresses: fill allowed_addresses from your own SIP traces or use inbound digest auth, and re-check when calls start failing. Outbound: the SIP login and password (digest), or an IP-authenticated SIP trunk (Zadarma-style, static IP required). Port 5060/UDP is the SIP default, not a value Novofon states. Accounts on Novofon's newer platform may show a different server in the account; that one wins.",
  },
  skyetel: {
    id: 'skyetel',
    displayName: 'Skyetel',
    defaultCountry: 'US',
    numberFormat: 'e164_without_plus',
    inbound: { allowedAddresses: [], requiresRegistration: false },
    outbound: { address: 'term.skyetel.com', port: 5060, transport: 'udp' },
    registrar: { host: 'reg.skyetel.com', port: 5060, transport: 'udp' },
    codecs: ['PCMU', 'PCMA'],
    sources: [
      'IP authentication recommended over SIP registration; registration servers reg.skyetel.com (SRV), nw1.reg.skyetel.com, se1.reg.skyetel.com: Skyetel support, "SIP Registration", https://support.skyetel.com/hc/en-us/articles/360056914834-SIP-Registration',
      'Termination proxy term.skyetel.com, no registration, 1 + 10-digit dialling: FusionPBX Skyetel provider setup, github.com/fusionpbx/fusionpbx app/providers/resources/classes/providers.php (third party, not a Skyetel page)',
      'Numbers written as 11 digits without +: Skyetel SMS API convention ("to": "1XXXXXXXXXX"); weak evidence for voice',
    ],
    notes:
      "Skyetel recommends IP authentication: add the LiveKit SIP server's public IP to an Endpoint Group in the Skyetel portal and point the numbers at it; no credentials are sent on inbound calls. Skyetel's own pages found here do not list the signalling IPs it sends INVITEs from, so allowed_addresses is empty: take the current list from Skyetel support or the portal. (FusionPBX hard-codes 52.41.52.34, 52.8.201.128, 52.60.138.31, 50.17.48.216 and 35.156.192.164; these are unconfirmed and may be stale cloud IPs, so they are not filled in.) Outbound with IP auth goes to term.skyetel.com from an IP in the Endpoint Group; Skyetel's SIP-credential mode is built around REGISTER, which LiveKit does not do. Codec order is not published; G.711 assumed. Number format not stated by Skyetel for voice: confirm with a test call.",
  },
  didforsale: {
    id: 'didforsale',
    displayName: 'DIDForSale',
    defaultCountry: 'US',
    numberFormat: 'e164',
    inbound: { allowedAddresses: [], requiresRegistration: false },
    outbound: { address: '', port: 5060, transport: 'udp' },
    codecs: ['PCMU', 'PCMA'],
    sources: [
      'Inbound by static IP or DNS name, no registration ("we will then route all of your access numbers (DIDs) to the IP Address that you have provided"): DIDForSale FAQ "How do I use this service", https://www.didforsale.com/faq/how-do-i-use-this-service',
    ],
    notes:
      "DIDForSale routes your DIDs to the IP address or DNS name you give them (the LiveKit SIP host). No published signalling source addresses, outbound proxy, number format or codec list were found: allowed_addresses and the outbound proxy are empty and must come from your DIDForSale account or support. The e164 number format and the G.711 codec order are placeholders, not DIDForSale statements; check the To header of a first test call and change the trunk's numbers if it arrives without '+'.",
  },
  twilio: {
    id: 'twilio',
    displayName: 'Twilio Elastic SIP Trunking',
    numberFormat: 'e164',
    inbound: {
      allowedAddresses: [
        '54.172.60.0/30', // North America, Virginia (ashburn)
        '54.244.51.0/30', // North America, Oregon (umatilla)
        '54.171.127.192/30', // Europe, Ireland (dublin)
        '35.156.191.128/30', // Europe, Frankfurt
        '54.65.63.192/30', // Asia Pacific, Tokyo
        '54.169.127.128/30', // Asia Pacific, Singapore
        '54.252.254.64/30', // Asia Pacific, Sydney
        '177.71.206.192/30', // South America, Sao Paulo
      ],
      requiresRegistration: false,
    },
    outbound: { address: '', port: 5061, transport: 'tls' },
    codecs: ['PCMU', 'PCMA'],
    sources: [
      'Regional signalling IP gateways (allow all of them; calls fail over between edges): Twilio, "IP Addresses for Elastic SIP Trunking Services", https://www.twilio.com/docs/sip-trunking/ip-addresses',
      'Termination SIP URI <name>.pstn.twilio.com, localized <name>.pstn.<edge>.twilio.com: Twilio, "Sending SIP to Twilio - Best Practices", https://www.twilio.com/docs/sip-trunking/sending-sip-to-twilio-best-practices',
      'E.164 with + on the wire (INVITE sip:+15108675309@{example}.pstn.ashburn.twilio.com): Twilio changelog "Twilio Edge Locations Available for Elastic SIP Trunking" (2020-07-30); LiveKit protocol PR #737 "Twilio requires leading +"',
      'PCMU then PCMA in origination SDP: Twilio, "Elastic SIP Trunking Codecs", https://www.twilio.com/docs/sip-trunking/codecs',
      'TLS on 5061 with SRTP (Secure Trunking): LiveKit docs "Secure trunking", https://docs.livekit.io/telephony/features/secure-trunking; Twilio "Secure Media" (default TLS port 5061)',
    ],
    notes:
      "Outbound proxy is your trunk's Termination SIP URI host, <name>.pstn.twilio.com (or <name>.pstn.<edge>.twilio.com); it is account-specific, so the preset leaves it empty. Authenticate termination with a Twilio credential list (digest username/password on the LiveKit outbound trunk) or an IP ACL holding LiveKit's egress IP. TLS/5061 assumes Secure Trunking is enabled on the Twilio trunk, which also requires SRTP: enable media encryption on the LiveKit trunks, or switch to udp/tcp 5060 if Secure Trunking is off. Inbound: set the Origination URI to sip:<LiveKit SIP host> (add ;transport=tls with Secure Trunking); Twilio sends no credentials, so the signalling ranges above are what admits its calls. Media comes from 168.86.128.0/18, UDP 10000-60000 (firewall only, not signalling). Twilio notes not every listed IP is active at a given time; the list changes rarely but does change: check the page.",
  },
  generic: {
    id: 'generic',
    displayName: 'Generic SIP trunk',
    numberFormat: 'e164',
    inbound: { allowedAddresses: [], requiresRegistration: false },
    outbound: { address: '', port: 5060, transport: 'udp' },
    codecs: ['PCMU', 'PCMA'],
    sources: [],
    notes:
      "No defaults beyond SIP's own (5060/UDP, G.711). Supply the provider's signalling source addresses or inbound digest credentials, its outbound proxy and credentials, and check how it writes numbers (with or without '+') from a test call.",
  },
};

export function getProviderPreset(id: ProviderId): ProviderPreset {
  return providerPresets[id];
}
