import { sipTransferUriProblem } from '../contract/index.js';
import { invalidInput, type GatewayError } from '../errors/index.js';
import { toE164 } from '../trunks/phone.js';

export function badTarget(message: string, field = 'to'): GatewayError {
  return invalidInput(`${field}: ${message}`, [{ field, message }]);
}

/** "+E.164", "tel:+E.164" or "sip:user@host[:port]" as the URI LiveKit puts in Refer-To. */
export function transferTarget(raw: string, field = 'to'): string {
  const to = raw.trim();
  const telNumber = /^tel:/i.test(to) ? to.slice(4) : to.startsWith('+') ? to : undefined;
  if (telNumber !== undefined) {
    if (!telNumber.startsWith('+')) throw badTarget('a tel: target needs a number with +', field);
    const parsed = toE164(telNumber);
    if (!parsed.ok) throw badTarget(parsed.error, field);
    return `tel:${parsed.e164}`;
  }
  if (/^sips?:/i.test(to)) {
    const problem = sipTransferUriProblem(to);
    if (problem) throw badTarget(`${JSON.stringify(raw)} ${problem}`, field);
    return to;
  }
  throw badTarget(`${JSON.stringify(raw)} is not +E.164, tel:+E.164 or sip:user@host`, field);
}
