import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { PassThrough, type Readable } from 'node:stream';
import type { Finding } from './finding.js';
import { logPatterns, type LogPattern } from './log-patterns.js';

export interface LogLine {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

/**
 * One line of LiveKit's logs, in either format: JSON (logging.json: true) or the console form
 * `time<TAB>LEVEL<TAB>logger<TAB>caller<TAB>message<TAB>{fields}`; or one of the SIP edge's.
 */
export function parseLogLine(line: string): LogLine | undefined {
  const text = line.trim();
  if (!text) return undefined;
  if (text.startsWith('{')) {
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      return {
        level: String(json.level ?? ''),
        message: String(json.msg ?? json.message ?? ''),
        fields: json,
      };
    } catch {
      return undefined;
    }
  }
  // The SIP edge's own lines (Kamailio xlog): ` 4(8069) NOTICE: <script>: edge: ...`.
  const edge = /^\d+\(\d+\)\s+([A-Z]+):\s+<script>:\s+(.*)$/.exec(text);
  if (edge) return { level: edge[1]!.toLowerCase(), message: edge[2]!, fields: {} };
  const parts = text.split('\t');
  if (parts.length < 5) return undefined;
  let fields: Record<string, unknown> = {};
  const last = parts[parts.length - 1]!;
  if (last.startsWith('{')) {
    try {
      fields = JSON.parse(last) as Record<string, unknown>;
    } catch {
      fields = {};
    }
  }
  return { level: parts[1]!.toLowerCase(), message: parts[4]!, fields };
}

export function classify(line: LogLine): LogPattern | undefined {
  return logPatterns.find(
    (p) =>
      p.message.test(line.message) &&
      Object.entries(p.fields ?? {}).every(([name, value]) =>
        value.test(String(line.fields[name] ?? '')),
      ),
  );
}

/** Counts the known lines in a stream and turns each kind seen into one finding. */
export async function summariseLogs(input: Readable, until?: Promise<unknown>): Promise<Finding[]> {
  const seen = new Map<string, { pattern: LogPattern; count: number; example: LogLine }>();
  let lines = 0;
  const reader = createInterface({ input, crlfDelay: Infinity });
  void until?.then(() => reader.close());
  for await (const raw of reader) {
    lines += 1;
    const line = parseLogLine(raw);
    const pattern = line && classify(line);
    if (!line || !pattern) continue;
    const entry = seen.get(pattern.kind) ?? { pattern, count: 0, example: line };
    entry.count += 1;
    seen.set(pattern.kind, entry);
  }
  if (seen.size === 0) {
    return [
      {
        check: 'logs',
        status: 'pass',
        cause: 'ok',
        evidence: `${lines} lines, none of the known failures`,
        fix: '',
      },
    ];
  }
  return [...seen.values()].map(({ pattern, count, example }) => ({
    check: `logs.${pattern.kind}`,
    status: pattern.status,
    cause: pattern.cause,
    // Call ids and errors only: numbers and SIP URIs in the line are personal data.
    evidence: `${count} line(s) like "${example.message}"${example.fields.error ? ` (error: ${String(example.fields.error)})` : ''}${example.fields.reason ? ` (reason: ${String(example.fields.reason)})` : ''}${example.fields.callID ? `, e.g. call ${String(example.fields.callID)}` : ''}`,
    fix: pattern.fix,
  }));
}

/** A log file read whole, or followed from its current end for `watchSeconds`. */
export function logFileStream(
  file: string,
  watchSeconds?: number,
): { stream: Readable; until?: Promise<void> } {
  if (!watchSeconds) return { stream: createReadStream(file, { encoding: 'utf8' }) };
  let position = statSync(file).size;
  const stream = new PassThrough();
  const timer = setInterval(() => {
    const size = statSync(file).size;
    if (size > position) {
      createReadStream(file, { start: position, end: size - 1, encoding: 'utf8' }).pipe(stream, {
        end: false,
      });
      position = size;
    }
  }, 200);
  const until = new Promise<void>((resolve) =>
    setTimeout(() => {
      clearInterval(timer);
      // Let the last chunk through before closing.
      setTimeout(() => {
        stream.end();
        resolve();
      }, 300);
    }, watchSeconds * 1000),
  );
  return { stream, until };
}
