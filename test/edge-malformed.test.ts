import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEdge, type EdgeProcess } from '../scripts/stack/kamailio.js';
import { sipRequest, statuses, tcpExchange, udpExchange } from './helpers/sip-raw.js';
import { optionsFrom } from './helpers/sip-uac.js';

const stack = inject('stack');
const SENDER = '127.0.0.30';
let edge: EdgeProcess;
let exited = false;

const at = () => ({ host: '127.0.0.1', port: edge.sipPort, localHost: SENDER });

/** OPTIONS to the edge itself, with these header lines instead of the usual ones. */
const options = (headers: string[], via = true) =>
  sipRequest({ method: 'OPTIONS', uri: `sip:127.0.0.1:${edge.sipPort}`, headers, via });

async function stillAnswers(): Promise<void> {
  expect(exited, 'kamailio exited').toBe(false);
  const probe = { host: '127.0.0.1', port: edge.sipPort, localHost: '127.0.0.1', userAgent: 'p' };
  expect(await optionsFrom(probe)).toBe(200);
}

beforeAll(async () => {
  edge = await startEdge({ livekitHost: stack.sipHost, livekitPort: stack.sipPort });
  void edge.process.exited.then(() => (exited = true));
});

afterAll(async () => {
  await edge?.stop();
});

describe('SIP edge and malformed SIP', () => {
  it('answers nothing to a request without Via, and keeps answering', async () => {
    const answers = await udpExchange({
      ...at(),
      message: options([`To: <sip:127.0.0.1>`, 'CSeq: 1 OPTIONS'], false),
    });
    expect(answers).toEqual([]);
    await stillAnswers();
  });

  it('refuses a bad CSeq with 400', async () => {
    for (const cseq of ['CSeq: abc OPTIONS', 'CSeq: 1 INVITE', 'CSeq: 99999999999 OPTIONS']) {
      const answers = await udpExchange({
        ...at(),
        message: options(['To: <sip:x@127.0.0.1>', cseq]),
      });
      expect(statuses(answers), cseq).toEqual([400]);
    }
    await stillAnswers();
  });

  it('answers Max-Forwards: 0 with 483 and relays nothing', async () => {
    const invite = sipRequest({
      method: 'INVITE',
      uri: `sip:+15550001111@127.0.0.1:${edge.sipPort}`,
      headers: ['To: <sip:+15550001111@127.0.0.1>', 'CSeq: 1 INVITE'],
    }).replace('Max-Forwards: 70', 'Max-Forwards: 0');
    expect(statuses(await udpExchange({ ...at(), message: invite }))).toEqual([483]);
    await stillAnswers();
  });

  it('survives a 60 KB header over UDP and TCP', async () => {
    const big = options([
      'To: <sip:x@127.0.0.1>',
      'CSeq: 1 OPTIONS',
      `X-Big: ${'A'.repeat(60_000)}`,
    ]);
    const overUdp = statuses(await udpExchange({ ...at(), message: big }));
    expect(
      overUdp.every((s) => s === 200 || s >= 400),
      String(overUdp),
    ).toBe(true);
    const overTcp = await tcpExchange({
      ...at(),
      message: big.replace('SIP/2.0/UDP', 'SIP/2.0/TCP'),
    });
    expect(
      overTcp === '' || /^SIP\/2\.0 (200|4\d\d|5\d\d) /.test(overTcp),
      overTcp.slice(0, 80),
    ).toBe(true);
    await stillAnswers();
  });

  it('survives garbage bytes, a truncated body and a header without a colon', async () => {
    for (let i = 0; i < 5; i += 1) {
      expect(await udpExchange({ ...at(), message: randomBytes(1200), waitMs: 200 })).toEqual([]);
    }
    await tcpExchange({ ...at(), message: randomBytes(4000), waitMs: 300 });
    const truncated = options(['To: <sip:x@127.0.0.1>', 'CSeq: 1 OPTIONS']).replace(
      'Content-Length: 0',
      'Content-Length: 5000',
    );
    await tcpExchange({ ...at(), message: truncated.replace('SIP/2.0/UDP', 'SIP/2.0/TCP') });
    const noColon = options(['To <sip:x@127.0.0.1>', 'CSeq: 1 OPTIONS']);
    const answers = statuses(await udpExchange({ ...at(), message: noColon }));
    expect(
      answers.every((s) => s >= 400),
      String(answers),
    ).toBe(true);
    await stillAnswers();
  });
});
