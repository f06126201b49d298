import { llm } from '@livekit/agents';
import { z } from 'zod';
import type { ProfileSettings } from './profile.js';

export interface CallActions {
  hangUp(reason: string): Promise<void>;
  transfer(to: string, mode: 'cold' | 'warm'): Promise<boolean>;
  /** Keys to the far end (RFC 2833 through LiveKit SIP). */
  sendDigits(digits: string): Promise<void>;
}

/** The tools a profile allows the LLM: hang up, transfer to the profile's named targets, press keys. */
export function callTools(settings: ProfileSettings, actions: () => CallActions | undefined) {
  const tools: Record<string, ReturnType<typeof llm.tool>> = {};
  if (settings.tools.hangup) {
    tools.end_call = llm.tool({
      description:
        'End the phone call. Use it after saying goodbye, when the caller asks to hang up or the conversation is over.',
      execute: async () => {
        const a = actions();
        if (!a) return 'the call is not connected';
        // After this turn's speech is heard: the tool runs while the goodbye may still play.
        setTimeout(() => void a.hangUp('agent_hangup'), 1500);
        return 'the call will end now';
      },
    });
  }
  const targets = Object.keys(settings.tools.transfer_targets);
  if (settings.tools.transfer && targets.length > 0) {
    tools.transfer_call = llm.tool({
      description: `Transfer the caller to a person or department. Targets: ${targets.join(', ')}. Tell the caller before transferring.`,
      parameters: z.object({ target: z.enum(targets as [string, ...string[]]) }),
      execute: async ({ target }) => {
        const to = settings.tools.transfer_targets[target];
        const a = actions();
        if (!to || !a) return 'transfer is not possible';
        if (settings.tools.transfer_mode === 'warm') {
          return (await a.transfer(to, 'warm'))
            ? 'the caller is on hold while a person is asked to take the call; if they do not, you will be back with the caller'
            : 'the transfer failed; tell the caller';
        }
        return (await a.transfer(to, 'cold'))
          ? 'transferred'
          : 'the transfer failed; tell the caller';
      },
    });
  }
  if (settings.tools.dtmf) {
    tools.send_dtmf = llm.tool({
      description:
        'Press keys on the phone, e.g. to choose an option of an automated menu you hear on an outbound call. Digits 0-9, * and #.',
      parameters: z.object({ digits: z.string().regex(/^[0-9*#]{1,32}$/) }),
      execute: async ({ digits }) => {
        const a = actions();
        if (!a) return 'the call is not connected';
        await a.sendDigits(digits);
        return `pressed ${digits}`;
      },
    });
  }
  return tools;
}
