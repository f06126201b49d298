import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAgentWorker } from './helpers/agent-worker.js';
import { clearLivekitSip, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { RtpPeer } from './helpers/rtp-peer.js';
import { eventually } from './helpers/wait.js';
import { startSippUas } from './sipp/uas.js';

/**
 * The docs are true to the code: every `curl` example of README.md and docs/*.md runs, with the
 * real curl, against a gateway on the shared stack, and answers the status the doc shows
 * (a `# 202 {...}` line under it, whose first-level fields are checked too) or implies (2xx).
 * Each doc gets a fresh gateway (its own database) and its examples run in document order, so
 * an example that uses an object finds the one an earlier example of the same doc created; what
 * a doc only describes in words (an answered call, a profile) its PREREQUISITES make. A new
 * example fails this file until it runs or is listed in NOT_RUN with the reason. The files and
 * pages the docs name must exist, and operator.md must list every metric the code registers.
 */

const root = path.resolve(import.meta.dirname, '..');
const docFiles = [
  'README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

interface Example {
  file: string;
  /** 1-based line of the command's first line. */
  line: number;
  /** The command as a user copies it, continuation lines joined. */
  command: string;
  /** The status a `# NNN` comment right under the command shows, if any. */
  shownStatus?: number;
  /** The fields the answer shown under it has: a value, or what it starts with before `...`. */
  shownFields?: Record<string, ShownValue>;
}

type ShownValue = string | number | boolean | { startsWith: string };

/** `{"id":"...","status":"queued","segments":1,...}` as the doc writes an answer. */
function shownFields(text: string): Record<string, ShownValue> {
  const fields: Record<string, ShownValue> = {};
  // Only the answer's own fields: those at the first level of braces.
  const depthAt = (index: number) =>
    [...text.slice(0, index)].reduce((d, ch) => d + (ch === '{' ? 1 : ch === '}' ? -1 : 0), 0);
  for (const m of text.matchAll(/"(\w+)"\s*:\s*("([^"]*)"|-?\d+(?:\.\d+)?|true|false)?/g)) {
    const [, key, raw, str] = m;
    if (depthAt(m.index) !== 1) continue;
    if (raw === undefined) fields[key!] = { startsWith: '' };
    else if (str?.includes('...')) fields[key!] = { startsWith: str.slice(0, str.indexOf('...')) };
    else if (str !== undefined) fields[key!] = str;
    else fields[key!] = raw === 'true' ? true : raw === 'false' ? false : Number(raw);
  }
  return fields;
}

/**
 * Examples that cannot run here, each with the reason. Keyed by file and a piece of the command;
 * an entry that matches no example fails the file, so the list does not outlive its examples.
 */
const NOT_RUN: { file: string; includes: string; reason: string }[] = [];

/** What a doc's prerequisites made: ids for `<id>` after a path (`/api/calls/<id>`), a cleanup. */
interface Fixture {
  ids?: Record<string, string>;
  close?: () => Promise<void>;
}

/** Gateway settings a doc's examples need (its fixture's agent, LiveKit's webhooks). */
const GATEWAY_ENV: Record<string, () => Record<string, string>> = {
  'docs/call-control.md': () => ({
    API_PORT: String(inject('stack').webhookPort),
    AGENT_NAME: 'docs-examples-agent',
  }),
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Objects an example relies on that its doc does not create with curl (the doc says so in its
 * text): created through the API before the doc's examples run.
 */
const PREREQUISITES: Record<string, (gw: TestGateway) => Promise<Fixture>> = {
  // A warm transfer: "only answered phone calls with an agent in the room and a trunk that dials
  // out transfer". The agent's outbound call to a sipp UAS, answered, the agent greeting.
  'docs/call-control.md': async (gw) => {
    const ear = await RtpPeer.open();
    const uas = await startSippUas('uas-answer.xml', { timeoutSeconds: 180, rtpPort: ear.port });
    const worker = await startAgentWorker({
      gatewayUrl: gw.internalUrl,
      agentName: 'docs-examples-agent',
    });
    const close = async () => {
      uas.stop();
      ear.close();
      await worker.stop();
    };
    try {
      const trunk = await gw.request('POST', '/api/trunks', {
        trunk_id: 'docs_out',
        name: 'sipp UAS',
        provider: 'generic',
        supports_inbound: false,
        proxy_address: `127.0.0.1:${uas.port}`,
        numbers: ['+15550100600'],
      });
      expect(trunk.status, JSON.stringify(trunk.body)).toBe(201);
      const body = { trunk_id: 'docs_out', to_number: '+15551230601' };
      let call = await gw.request('POST', '/api/calls', body);
      // LiveKit SIP refuses calls while the machine's CPU is high: retried, bounded.
      for (let i = 0; i < 40 && call.status === 503; i++) {
        await sleep(2000);
        call = await gw.request('POST', '/api/calls', body);
      }
      expect(call.status, JSON.stringify(call.body)).toBe(201);
      const id = call.body.id as string;
      expect(await eventually(async () => ear.heard.firstSoundAt, 45_000)).toBeDefined();
      const answered = await eventually(async () => {
        const record = await gw.request('GET', `/api/calls/${id}`);
        return record.body.status === 'active' || undefined;
      }, 20_000);
      expect(answered, 'the call is answered').toBe(true);
      return { ids: { '/api/calls/': id }, close };
    } catch (error) {
      await close();
      throw error;
    }
  },
  // "from_number (one of our numbers)" on a trunk that sends out.
  'docs/sms.md': async (gw) => {
    const res = await gw.request('POST', '/api/trunks', {
      trunk_id: 'sms_out',
      name: 'SMS out',
      provider: 'generic',
      numbers: ['+15555550100'],
      allowed_addresses: ['127.0.0.1'],
      supports_outbound: true,
      proxy_address: '127.0.0.1',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return {};
  },
  // "The profile must exist": the agent profile the link names.
  'docs/web.md': async (gw) => {
    const res = await gw.request('POST', '/api/agents', {
      name: 'support',
      settings: { mode: 'offline', greeting: 'Hello.' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return {};
  },
};

/** The address the docs write for the API of `npm start`; the test gateway's replaces it. */
const DOC_API = 'http://127.0.0.1:8080';

/** Splits a fenced shell block into commands: `\` continuations and quoted newlines join. */
function commandsOf(block: string, firstLine: number): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let current = '';
  let start = 0;
  let quote: '' | "'" | '"' = '';
  const lines = block.split('\n');
  for (const [i, raw] of lines.entries()) {
    if (!current && !quote) {
      if (/^\s*(#.*)?$/.test(raw)) continue;
      start = firstLine + i;
    }
    for (const ch of raw) {
      if (quote) {
        if (ch === quote) quote = '';
      } else if (ch === "'" || ch === '"') quote = ch;
      else if (ch === '#' && /(^|\s)$/.test(current)) break;
      current += ch;
    }
    if (quote) {
      current += '\n';
      continue;
    }
    if (current.endsWith('\\')) {
      current = current.slice(0, -1);
      continue;
    }
    out.push({ text: current.trim(), line: start });
    current = '';
  }
  if (current.trim()) out.push({ text: current.trim(), line: start });
  return out;
}

function examplesOf(file: string): Example[] {
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
  const examples: Example[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (!/^\s*```\w*\s*$/.test(lines[i]!)) continue;
    let end = i + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end += 1;
    const commands = commandsOf(lines.slice(i + 1, end).join('\n'), i + 2);
    for (const [n, c] of commands.entries()) {
      if (!/^curl\s/.test(c.text)) continue;
      // `# NNN ...` or `# -> {...}` between this command and the next shows its answer.
      const nextLine = commands[n + 1]?.line ?? end + 1;
      const shown = lines
        .slice(c.line, nextLine - 1)
        .map((l) => /^\s*#\s*(?:->\s*)?(?:([1-5]\d\d)\b)?\s*(\{.*)?$/.exec(l))
        .find((m) => m && (m[1] || m[2]));
      examples.push({
        file,
        line: c.line,
        command: c.text,
        ...(shown?.[1] ? { shownStatus: Number(shown[1]) } : {}),
        ...(shown?.[2] ? { shownFields: shownFields(shown[2]) } : {}),
      });
    }
    i = end;
  }
  return examples;
}

const examples = docFiles.flatMap(examplesOf);
const notRunOf = (e: Example) =>
  NOT_RUN.find((n) => n.file === e.file && e.command.includes(n.includes));

/** `curl -N` (or `-sN`): a stream that does not end by itself. */
const isStream = (command: string) => /^curl\s+(?:-\w+\s+)*-\w*N\b/.test(command);

interface CurlResult {
  status: number;
  body: string;
  exitCode: number;
  stderr: string;
}

const outDir = mkdtempSync(path.join(os.tmpdir(), 'vg-docs-curl-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));
let runSeq = 0;

/**
 * Runs the doc's command in bash, as a user pasting it would, with $API and $KEY set; curl's
 * body goes to a file and its status is written out. `curl -N` (a stream) is cut after 3 s.
 */
function runCurl(command: string, env: Record<string, string>): Promise<CurlResult> {
  runSeq += 1;
  const bodyFile = path.join(outDir, `body-${runSeq}`);
  const streaming = isStream(command);
  const extra = ` -o '${bodyFile}' -w '%{http_code}' --max-time ${streaming ? 3 : 20}`;
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', command + extra],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: outDir, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const exitCode = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        const body = existsSync(bodyFile) ? readFileSync(bodyFile, 'utf8') : '';
        resolve({ status: Number(stdout.trim() || 0), body, exitCode, stderr });
      },
    );
  });
}

/**
 * `<id>` in a doc's command: the fixture's id for the path before it (`/api/calls/<id>`), else
 * the id of the object the doc's latest example answered with. Any other `<placeholder>` has no
 * value here: the example fails naming it.
 */
function fillPlaceholders(
  command: string,
  lastId: string | undefined,
  ids: Record<string, string>,
): string {
  const filled = command.replace(/<id>/g, (_match, offset: number) => {
    const before = command.slice(0, offset);
    const fixed = Object.entries(ids).find(([p]) => before.endsWith(p));
    if (fixed) return fixed[1];
    if (!lastId) throw new Error('<id> with no earlier example of the doc answering an id');
    return lastId;
  });
  const unknown = /<[\w-]+>/.exec(filled);
  if (unknown) throw new Error(`${unknown[0]}: a placeholder the docs test has no value for`);
  return filled;
}

describe('docs: the curl examples', () => {
  it('finds the examples (the extractor reads the docs)', () => {
    // README: four; admin, call-control, sip-users, sms, web, webhooks: at least one each.
    expect(examples.filter((e) => e.file === 'README.md').length).toBe(4);
    for (const f of ['admin', 'call-control', 'sip-users', 'sms', 'web', 'webhooks'])
      expect(
        examples.some((e) => e.file === `docs/${f}.md`),
        f,
      ).toBe(true);
    // Every line that starts with curl, in any block, is one example: none is left unchecked.
    for (const file of docFiles) {
      const curlLines = readFileSync(path.join(root, file), 'utf8')
        .split('\n')
        .filter((l) => /^\s*curl\s/.test(l));
      expect(examplesOf(file).length, file).toBe(curlLines.length);
    }
    // NOT_RUN names only examples the docs have, so the list does not outlive them.
    const stale = NOT_RUN.filter(
      (n) => !examples.some((e) => e.file === n.file && e.command.includes(n.includes)),
    );
    expect(stale).toEqual([]);
    // Continuations and a quoted body over several lines are one command.
    const multi = examples.find((e) => e.file === 'docs/admin.md' && e.command.includes('twilio'));
    expect(multi?.command).toMatch(/-d '\{\n.*"password": "s3cret"\n\}'$/s);
  });

  it('reads the answer a doc shows under a command', () => {
    expect(
      shownFields('{"id":"...","status":"queued","segments":1,"leg":{"status":"x"},...}'),
    ).toEqual({ id: { startsWith: '' }, status: 'queued', segments: 1, leg: { startsWith: '' } });
    const sms = examples.find((e) => e.file === 'docs/sms.md');
    expect(sms?.shownStatus).toBe(202);
    expect(sms?.shownFields).toMatchObject({ status: 'queued', encoding: 'gsm7' });
    const hook = examples.find((e) => e.file === 'docs/webhooks.md');
    expect(hook?.shownFields).toEqual({ secret: { startsWith: 'whsec_' } });
  });

  const byDoc = new Map<string, Example[]>();
  for (const e of examples) byDoc.set(e.file, [...(byDoc.get(e.file) ?? []), e]);

  for (const [file, docExamples] of byDoc) {
    describe(file, () => {
      let gw: TestGateway;
      let lastId: string | undefined;
      let fixture: Fixture = {};
      beforeAll(async () => {
        gw = await startTestGateway({ env: GATEWAY_ENV[file]?.() ?? {} });
        await clearLivekitSip(gw.sip);
        fixture = (await PREREQUISITES[file]?.(gw)) ?? {};
      }, 240_000);
      afterAll(async () => {
        await fixture.close?.();
        await gw?.close();
      });

      for (const e of docExamples) {
        // Listed in NOT_RUN, with the reason; the test above keeps that list to real examples.
        if (notRunOf(e)) continue;
        it(`line ${e.line}: ${e.command.split('\n')[0]!.slice(0, 90)}`, async () => {
          expect(e.command, 'a doc example names the API as $API or http://127.0.0.1:8080').toMatch(
            /\$API\b|http:\/\/127\.0\.0\.1:8080\b/,
          );
          const command = fillPlaceholders(e.command, lastId, fixture.ids ?? {}).replaceAll(
            DOC_API,
            '$API',
          );
          const result = await runCurl(command, { API: gw.url, KEY: gw.adminKey });
          const detail = `${file}:${e.line}\n${command}\n-> ${result.status} ${result.body.slice(0, 500)} ${result.stderr}`;
          if (isStream(e.command)) {
            // A stream: cut by --max-time (curl exit 28) after its first event.
            expect(result.exitCode, detail).toBe(28);
            expect(result.status, detail).toBe(e.shownStatus ?? 200);
            expect(result.body, detail).toMatch(/^retry: 3000\n\nevent: ready\n/);
            return;
          }
          expect(result.exitCode, detail).toBe(0);
          if (e.shownStatus) expect(result.status, detail).toBe(e.shownStatus);
          else expect(result.status >= 200 && result.status < 300, detail).toBe(true);
          let parsed: Record<string, unknown> | undefined;
          try {
            parsed = JSON.parse(result.body) as Record<string, unknown>;
          } catch {
            // not JSON: no id
          }
          for (const [key, value] of Object.entries(e.shownFields ?? {})) {
            expect(parsed, `${detail}\nthe doc shows "${key}"`).toHaveProperty(key);
            if (typeof value !== 'object') expect(parsed?.[key], `${detail}\n"${key}"`).toBe(value);
            else
              expect(
                String(parsed?.[key]).startsWith(value.startsWith),
                `${detail}\n"${key}"`,
              ).toBe(true);
          }
          if (typeof parsed?.id === 'string') lastId = parsed.id;
        });
      }
    });
  }
});

describe('docs: the files they name', () => {
  const named = (text: string) =>
    [...text.matchAll(/(?<![\w./@:-])((?:src|test|docs|scripts|deploy)\/[\w./*<>-]*[\w*>])/g)].map(
      (m) => m[1]!,
    );

  it('finds the paths (the reader sees them)', () => {
    expect(named('see `src/http/app.ts`, test/foo.test.ts. And https://x.org/src/a.ts')).toEqual([
      'src/http/app.ts',
      'test/foo.test.ts',
    ]);
  });

  for (const file of docFiles) {
    it(`${file} names only files and folders that exist`, () => {
      const text = readFileSync(path.join(root, file), 'utf8');
      const missing = named(text).filter((p) => {
        if (/[*<]/.test(p)) {
          // A pattern (`src/**/metrics.ts`, `test/<file>.test.ts`): its fixed folder exists.
          const fixed = p.slice(0, p.search(/[*<]/));
          return !existsSync(path.join(root, fixed.slice(0, fixed.lastIndexOf('/') + 1)));
        }
        return !existsSync(path.join(root, p));
      });
      expect(missing, file).toEqual([]);
    });

    it(`${file} names only pages that exist`, () => {
      const text = readFileSync(path.join(root, file), 'utf8');
      const here = path.dirname(path.join(root, file));
      const pages = [...text.matchAll(/(?<![\w/.-])([\w-]+\.md)\b/g)].map((m) => m[1]!);
      const missing = pages.filter(
        (p) => ![root, path.join(root, 'docs'), here].some((dir) => existsSync(path.join(dir, p))),
      );
      expect(missing, file).toEqual([]);
    });
  }
});

/** The metric names the code registers (prom-client and the supervisor's own text). */
function metricNames(dir: string): string[] {
  const names = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const text = readFileSync(path.join(entry.parentPath, entry.name), 'utf8');
    for (const m of text.matchAll(/name: '(voice_gateway_\w+)'|# TYPE (voice_gateway_\w+)/g))
      names.add((m[1] ?? m[2])!);
  }
  return [...names].sort();
}

describe('docs: operator.md lists every metric', () => {
  it('names each metric the code registers', () => {
    const names = metricNames(path.join(root, 'src'));
    // The HTTP, call, edge, SMS, call host and supervisor metrics, at least.
    expect(names.length).toBeGreaterThan(30);
    const operator = readFileSync(path.join(root, 'docs/operator.md'), 'utf8');
    expect(names.filter((n) => !operator.includes(`\`${n}`))).toEqual([]);
  });
});
