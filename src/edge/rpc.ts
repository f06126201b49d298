/** A JSON-RPC error from Kamailio (`code` is its SIP-like fault code, e.g. 404, 409). */
export class EdgeRpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
    readonly retryable: boolean,
  ) {
    super(`kamailio ${method}: ${message}`);
    this.name = 'EdgeRpcError';
  }
}

/**
 * Kamailio's jsonrpcs module over HTTP (xhttp), e.g. http://127.0.0.1:5090/RPC. Every call
 * carries the shared secret (EDGE_RPC_SECRET) in X-Edge-Token; the edge answers 401 without it.
 */
export class EdgeRpc {
  private id = 0;
  readonly #secret: string;

  constructor(
    readonly url: string,
    secret: string,
    private readonly timeoutMs = 2000,
  ) {
    this.#secret = secret;
  }

  /** The header the edge checks, also on the REGISTERs it relays for the gateway. */
  authHeader(): { name: string; value: string } {
    return { name: 'X-Edge-Token', value: this.#secret };
  }

  async call<T>(method: string, params: unknown[] = []): Promise<T> {
    this.id += 1;
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-edge-token': this.#secret },
        body: JSON.stringify({ jsonrpc: '2.0', method, params, id: this.id }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new EdgeRpcError(
        method,
        0,
        `the edge did not answer at ${this.url} (${error instanceof Error ? error.message : String(error)})`,
        true,
      );
    }
    if (response.status === 401)
      throw new EdgeRpcError(method, 401, 'refused the secret (check EDGE_RPC_SECRET)', false);
    const body = (await response.json().catch(() => undefined)) as
      { result?: T; error?: { code: number; message: string } } | undefined;
    if (!body) throw new EdgeRpcError(method, response.status, 'answered with no JSON', true);
    if (body.error) throw new EdgeRpcError(method, body.error.code, body.error.message, false);
    return body.result as T;
  }
}
