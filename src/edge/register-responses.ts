/** What a registrar's final answer to REGISTER means, and what to do about it. */
export interface ResponseMeaning {
  cause: string;
  fix: string;
}

/** 408 is what the edge reports when the registrar never answered. */
export function explainRegisterResponse(
  code: number | null,
  reason?: string | null,
): ResponseMeaning {
  const said = code ? `${code}${reason ? ` ${reason}` : ''}` : 'no answer';
  if (code === null || code === 408) {
    return {
      cause: `the registrar did not answer (${said}): wrong registrar host or port, a firewall, or the provider is down`,
      fix: 'check registrar (host[:port] and transport) against the provider portal, and that UDP to it is allowed from the edge',
    };
  }
  if (code === 401 || code === 407) {
    return {
      cause: `the registrar refused the digest answer (${said}): wrong password, a username that is not the auth username, or a registrar that wants SHA-256 and refuses MD5`,
      fix: 'set the trunk password (and username) exactly as the provider portal shows them for this SIP account; if they are right, set register_algorithm to the one the provider uses (SHA-256)',
    };
  }
  if (code === 403) {
    return {
      cause: `the registrar forbids this account (${said}): unknown user, a realm or domain that does not match the account, or an inactive/blocked account`,
      fix: 'check username and realm against the provider (the realm is usually the registrar domain, e.g. sip.novofon.ru), that registrar is the domain the account belongs to, and that the account is active and allowed to register from this IP',
    };
  }
  if (code === 404) {
    return {
      cause: `the registrar does not know this user in this domain (${said})`,
      fix: 'the username or the registrar domain is wrong: use the SIP login and domain from the provider portal',
    };
  }
  if (code === 423) {
    return {
      cause: `the registrar wants a longer registration (${said})`,
      fix: 'raise register_expiry to at least the Min-Expires the provider asks for',
    };
  }
  if (code === 503 || code === 500 || code === 480) {
    return {
      cause: `the registrar is unavailable (${said})`,
      fix: 'a provider-side problem: the edge retries with backoff; contact the provider if it persists',
    };
  }
  if (code >= 200 && code < 300) return { cause: `registered (${said})`, fix: '' };
  return {
    cause: `the registrar refused the registration (${said})`,
    fix: 'compare registrar, username, password and realm with the provider portal',
  };
}
