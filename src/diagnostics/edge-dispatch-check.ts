import type { GatewayConfig } from '../config/index.js';
import { EdgeRpc } from '../edge/index.js';
import { pass, type Finding } from './finding.js';

/** One destination of the edge's dispatcher (Kamailio's `dispatcher.list`). */
export interface EdgeDestination {
  uri: string;
  /** Kamailio's flags: A active, I inactive, D disabled, T trying; P probing. */
  flags: string;
  active: boolean;
}

interface DispatcherList {
  RECORDS?: { SET?: { ID?: number; TARGETS?: { DEST?: { URI?: string; FLAGS?: string } }[] } }[];
}

/** The LiveKit SIP instances (dispatcher set 1) as the edge sees them. */
export async function edgeDestinations(rpc: EdgeRpc): Promise<EdgeDestination[]> {
  const list = await rpc.call<DispatcherList>('dispatcher.list');
  return (list.RECORDS ?? [])
    .filter((r) => r.SET?.ID === 1)
    .flatMap((r) => r.SET?.TARGETS ?? [])
    .map((t) => ({ uri: t.DEST?.URI ?? '?', flags: t.DEST?.FLAGS ?? '' }))
    .map((d) => ({ ...d, active: d.flags.startsWith('A') }))
    .sort((a, b) => a.uri.localeCompare(b.uri));
}

/**
 * The LiveKit SIP instances behind the SIP edge: each one that does not answer the edge's
 * OPTIONS probes is named (the edge sends it no new call until it answers again).
 */
export async function checkEdgeDispatch(config: GatewayConfig): Promise<Finding[]> {
  if (!config.edge.enabled || !config.edge.rpcSecret) return [];
  let destinations: EdgeDestination[];
  try {
    destinations = await edgeDestinations(
      new EdgeRpc(config.edge.rpcUrl, config.edge.rpcSecret, 2000),
    );
  } catch (error) {
    return [
      {
        check: 'sip.edge_instances',
        status: 'fail',
        cause: 'the SIP edge does not answer: which LiveKit SIP instances take calls is unknown',
        evidence: error instanceof Error ? error.message : String(error),
        fix: 'start Kamailio with the rendered edge config and check EDGE_RPC_URL and EDGE_RPC_SECRET',
      },
    ];
  }
  const up = destinations.filter((d) => d.active);
  const down = destinations.filter((d) => !d.active);
  const evidence = `edge dispatcher.list: ${destinations.map((d) => `${d.uri} ${d.flags}`).join(', ') || 'no destination'}`;
  if (destinations.length === 0) {
    return [
      {
        check: 'sip.edge_instances',
        status: 'fail',
        cause: 'the SIP edge lists no LiveKit SIP instance: it relays no call',
        evidence,
        fix: 'render the edge config with EDGE_LIVEKIT_SIP_ADDRESS (docs/edge.md)',
      },
    ];
  }
  if (down.length === 0) {
    return [
      pass(
        'sip.edge_instances',
        `${up.length} LiveKit SIP instance(s) answer the edge's probes (${evidence})`,
      ),
    ];
  }
  const names = down.map((d) => d.uri).join(', ');
  return [
    {
      check: 'sip.edge_instances',
      status: up.length === 0 && destinations.length > 1 ? 'fail' : 'warn',
      cause:
        up.length === 0
          ? destinations.length > 1
            ? `no LiveKit SIP instance answers the edge's OPTIONS probes (${names}): every call is refused with 503`
            : `LiveKit SIP at ${names} does not answer the edge's OPTIONS probes: calls to it are relayed but likely fail`
          : `LiveKit SIP instance ${names} does not answer the edge's OPTIONS probes: the edge sends it no new calls, the other ${up.length} take them`,
      evidence,
      fix: `start ${down.length === 1 ? 'that instance' : 'those instances'} again, or check its address and that it listens on it; the edge takes it back at its first answer (EDGE_LIVEKIT_PROBE_SECONDS)`,
    },
  ];
}
