import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePortBlock } from '../../scripts/stack/ports.js';
import { runSipp } from '../helpers/sipp.js';

export interface SippUas {
  /** The UDP port sipp answers on (127.0.0.1). */
  port: number;
  /** Resolves with sipp's exit code: 0 when the scenario ran to its end. */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Every SIP message sipp sent or received so far (its -trace_msg log). */
  messages(): string;
  stop(): void;
}

/**
 * Runs one of the scenarios in test/sipp as a UAS on a free loopback port, for one call. It
 * stops by itself after `timeoutSeconds`.
 */
export async function startSippUas(
  scenario: string,
  /** rtpPort: the SDP's media port is the test's own RtpPeer there, not sipp's. */
  options: { timeoutSeconds?: number; rtpPort?: number } = {},
): Promise<SippUas> {
  const start = await freePortBlock(4);
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'vg-sipp-uas-'));
  const messageFile = path.join(cwd, 'messages.log');
  let file = path.join(import.meta.dirname, scenario);
  if (options.rtpPort !== undefined) {
    const text = readFileSync(file, 'utf8').replaceAll(
      'm=audio [media_port]',
      `m=audio ${options.rtpPort}`,
    );
    file = path.join(cwd, scenario);
    writeFileSync(file, text);
  }
  const args = [
    '-sf',
    file,
    '-i',
    '127.0.0.1',
    '-p',
    String(start),
    '-mi',
    '127.0.0.1',
    '-mp',
    String(start + 2),
    '-m',
    '1',
    '-timeout',
    `${options.timeoutSeconds ?? 30}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_err',
    '-trace_msg',
    '-message_file',
    messageFile,
  ];
  const { done, stop } = runSipp(args, cwd);
  // sipp binds its socket right after parsing the scenario; give it that moment.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return {
    port: start,
    done,
    messages: () => (existsSync(messageFile) ? readFileSync(messageFile, 'utf8') : ''),
    stop,
  };
}

/** The first SIP request of `method` sipp received, as text. */
export function receivedRequest(messages: string, method: string): string | undefined {
  return messages
    .split(/-{20,}/)
    .find(
      (block) =>
        block.includes('message received') && new RegExp(`^\\s*${method} `, 'm').test(block),
    );
}
