import path from 'node:path';
import type { StackKeys } from './configs.js';
import { startEdge, type EdgeProcess } from './kamailio.js';
import { startLocalStack, type LocalStack } from './local-stack.js';
import { freePortBlock, stackPortsFrom } from './ports.js';

export interface LoopbackCluster {
  redisAddress: string;
  /** One livekit-server node and the LiveKit SIP instance that opens its rooms there, each. */
  nodes: LocalStack[];
  /** The SIP edge in front of every node's LiveKit SIP instance, spreading calls over them. */
  edge: EdgeProcess;
  stop(): Promise<void>;
}

/**
 * LiveKit's multi-node setup on loopback: `count` livekit-server nodes sharing one Redis (their
 * routing and psrpc), each with a LiveKit SIP instance of its own on its own ports, and one SIP
 * edge (Kamailio) spreading calls over those instances, probing each with OPTIONS every
 * `probeIntervalSeconds` (2 by default). Every node sends its webhooks to `webhookUrls`.
 */
export async function startLoopbackCluster(options: {
  root: string;
  dataDir: string;
  keys: StackKeys;
  count?: number;
  webhookUrls?: string[];
  probeIntervalSeconds?: number;
  /** The edge's SIP port (a free one by default). */
  edgeSipPort?: number;
  /** host:port of the gateway's SMS listener, where the edge hands inbound MESSAGEs. */
  smsTarget?: string;
  log?: (line: string) => void;
}): Promise<LoopbackCluster> {
  const nodes: LocalStack[] = [];
  let edge: EdgeProcess | undefined;
  const stop = async () => {
    await edge?.stop();
    for (const node of [...nodes].reverse()) await node.stop();
  };
  try {
    for (let i = 0; i < (options.count ?? 2); i += 1) {
      nodes.push(
        await startLocalStack({
          root: options.root,
          dataDir: path.join(options.dataDir, `node-${i}`),
          ports: stackPortsFrom(await freePortBlock(160)),
          keys: options.keys,
          // The first node starts Redis; the others join it.
          redisAddress: nodes[0]?.redisAddress,
          webhookUrls: options.webhookUrls,
          log: options.log,
        }),
      );
    }
    edge = await startEdge({
      livekitHost: nodes[0]!.sipHost,
      livekitPort: nodes[0]!.sipPort,
      livekitInstances: nodes.map((n) => ({ host: n.sipHost, port: n.sipPort })),
      probeIntervalSeconds: options.probeIntervalSeconds ?? 2,
      sipPort: options.edgeSipPort,
      smsTarget: options.smsTarget,
      dir: path.join(options.dataDir, 'edge'),
      logDir: path.join(options.dataDir, 'edge'),
    });
    options.log?.(`edge on 127.0.0.1:${edge.sipPort} in front of ${nodes.length} SIP instances`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { redisAddress: nodes[0]!.redisAddress, nodes, edge, stop };
}
