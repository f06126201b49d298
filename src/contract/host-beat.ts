import { z } from 'zod';

/** POST /internal/agent/hosts/beat: a call host says it is there, every few seconds. */
export const hostBeatSchema = z
  .object({
    /** Unique per host process (machine name and process id). */
    host_id: z.string().min(1).max(200),
    agent_name: z.string().min(1).max(200),
    /** Registered with LiveKit as an agent worker (it can take calls). */
    registered: z.boolean(),
    draining: z.boolean(),
    active_calls: z.number().int().min(0),
    capacity: z.number().int().min(1),
    /** The gateway's version the host runs (package.json). */
    version: z.string().max(50),
    /** The LiveKit server's version, from its answer to the host's registration. */
    livekit_server_version: z.string().max(50).nullable(),
  })
  .strict();
export type HostBeat = z.infer<typeof hostBeatSchema>;

/** How often a host beats; one silent for three beats is reported down. */
export const HOST_BEAT_MS = 5000;
