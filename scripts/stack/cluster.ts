import path from 'node:path';
import type { StackKeys } from './configs.js';
import { startLocalStack, type LocalStack } from './local-stack.js';
import { freePortBlock, stackPortsFrom } from './ports.js';

export interface LoopbackCluster {
  redisAddress: string;
  /** One livekit-server node and the LiveKit SIP instance that opens its rooms there, each. */
  nodes: LocalStack[];
  stop(): Promise<void>;
}

/**
 * LiveKit's multi-node setup on loopback: `count` livekit-server nodes sharing one Redis (their
 * routing and psrpc), each with a LiveKit SIP instance of its own on its own ports. Every node
 * sends its webhooks to `webhookUrls`.
 */
export async function startLoopbackCluster(options: {
  root: string;
  dataDir: string;
  keys: StackKeys;
  count?: number;
  webhookUrls?: string[];
  log?: (line: string) => void;
}): Promise<LoopbackCluster> {
  const nodes: LocalStack[] = [];
  const stop = async () => {
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
  } catch (error) {
    await stop();
    throw error;
  }
  return { redisAddress: nodes[0]!.redisAddress, nodes, stop };
}
