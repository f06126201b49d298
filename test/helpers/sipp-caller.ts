import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RtpPeer, type PeerCodec } from './rtp-peer.js';
import { runSipp, type SippRun } from './sipp.js';

const scenarios = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'sipp');

/**
 * Calls `number` at host:port with test/sipp/uac-agent-call.xml: sipp does the signalling and
 * the media goes to the test's RtpPeer on `rtpPort`. The caller hangs up after `holdMs` unless
 * the far end sends BYE first. sipp exits 0 when the call went through as scripted.
 */
export function sippAgentCall(options: {
  host: string;
  port: number;
  number: string;
  caller: string;
  rtpPort: number;
  holdMs: number;
  timeoutSeconds?: number;
  /** The codecs the INVITE offers, in order (PCMU when not given). */
  offer?: PeerCodec[];
  /** The loopback address sipp signals from (127.0.0.1 when not given; media stays there). */
  localIp?: string;
}): SippRun {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-sipp-'));
  // sipp does not substitute keywords inside attributes (the BYE wait's timeout): fill them here.
  const scenario = readFileSync(path.join(scenarios, 'uac-agent-call.xml'), 'utf8')
    .replaceAll('[rtp_port]', String(options.rtpPort))
    .replaceAll('[hold_ms]', String(options.holdMs))
    .replace('RTP/AVP 0 101', `RTP/AVP ${offered(options.offer).types} 101`)
    .replace('a=rtpmap:0 PCMU/8000', offered(options.offer).rtpmaps);
  const file = path.join(dir, 'scenario.xml');
  writeFileSync(file, scenario);
  const args = [
    `${options.host}:${options.port}`,
    '-sf',
    file,
    '-s',
    options.number,
    '-key',
    'caller',
    options.caller,
    '-i',
    options.localIp ?? '127.0.0.1',
    '-p',
    '0',
    '-m',
    '1',
    '-timeout',
    `${options.timeoutSeconds ?? Math.ceil(options.holdMs / 1000) + 30}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_err',
  ];
  return runSipp(args, dir);
}

const RTPMAP: Record<PeerCodec, string> = {
  PCMU: '0 PCMU/8000',
  PCMA: '8 PCMA/8000',
  G722: '9 G722/8000',
};

function offered(offer: PeerCodec[] = ['PCMU']) {
  return {
    types: offer.map((c) => RTPMAP[c].split(' ')[0]).join(' '),
    rtpmaps: offer.map((c) => `a=rtpmap:${RTPMAP[c]}`).join('\n      '),
  };
}

/** A phone dialling LiveKit SIP: the caller's ear and mouth (an RtpPeer) and its sipp call. */
export interface PhoneCall {
  phone: RtpPeer;
  call: SippRun;
  /** Stops sipp and closes the ear. */
  hangUp(): void;
}

/** `caller` dials `number` on the stack's LiveKit SIP and stays on for at most `holdMs`. */
export async function dialFromPhone(
  sip: { host: string; port: number; localIp?: string },
  number: string,
  caller: string,
  holdMs: number,
  media: { codec: PeerCodec; offer: PeerCodec[] } = { codec: 'PCMU', offer: ['PCMU'] },
): Promise<PhoneCall> {
  const phone = await RtpPeer.open(500, media.codec);
  const call = sippAgentCall({
    host: sip.host,
    port: sip.port,
    number,
    caller,
    rtpPort: phone.port,
    holdMs,
    offer: media.offer,
    localIp: sip.localIp,
  });
  return {
    phone,
    call,
    hangUp() {
      call.stop();
      phone.close();
    },
  };
}
