import {
  CreateSIPDispatchRuleRequest,
  SIPDispatchRuleInfo,
  UpdateSIPDispatchRuleRequest,
} from '@livekit/protocol';
import { SipClient, TwirpError } from 'livekit-server-sdk';

/**
 * The SDK's SipClient, plus dispatch-rule calls that send the whole SIPDispatchRuleInfo: the SDK
 * helper has no `numbers` / `inbound_numbers` fields, and creating then patching would leave a
 * rule less restrictive than intended for a moment.
 */
export class GatewaySipClient extends SipClient {
  constructor(
    private readonly host: string,
    apiKey: string,
    apiSecret: string,
    private readonly timeoutSeconds: number,
  ) {
    super(host, apiKey, apiSecret, { requestTimeout: timeoutSeconds, failover: false });
  }

  async createDispatchRuleInfo(info: SIPDispatchRuleInfo): Promise<SIPDispatchRuleInfo> {
    const request = new CreateSIPDispatchRuleRequest({ dispatchRule: info });
    return SIPDispatchRuleInfo.fromJson(
      await this.twirp('CreateSIPDispatchRule', request.toJson()),
      {
        ignoreUnknownFields: true,
      },
    );
  }

  async replaceDispatchRuleInfo(
    id: string,
    info: SIPDispatchRuleInfo,
  ): Promise<SIPDispatchRuleInfo> {
    const request = new UpdateSIPDispatchRuleRequest({
      sipDispatchRuleId: id,
      action: { case: 'replace', value: info },
    });
    return SIPDispatchRuleInfo.fromJson(
      await this.twirp('UpdateSIPDispatchRule', request.toJson()),
      {
        ignoreUnknownFields: true,
      },
    );
  }

  private async twirp(method: string, body: unknown): Promise<never> {
    const url = new URL(`/twirp/livekit.SIP/${method}`, this.host);
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...(await this.authHeader({}, { admin: true })),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutSeconds * 1000),
    });
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      let code: string | undefined;
      try {
        const parsed = JSON.parse(text) as { msg?: string; code?: string };
        message = parsed.msg ?? text;
        code = parsed.code;
      } catch {
        // not JSON: keep the text
      }
      throw new TwirpError(response.statusText, message, response.status, code);
    }
    return JSON.parse(text) as never;
  }
}
