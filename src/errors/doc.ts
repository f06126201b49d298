import { errorCatalogue } from './catalogue.js';

const intro = `# Errors

<!-- Rendered from src/errors/catalogue.ts by \`npm run docs:errors\`; edit the catalogue, not this page. -->

Every error the API answers with has the same body:

\`\`\`json
{ "error": "<code>", "message": "what went wrong, in words", "retryable": false }
\`\`\`

plus fields some codes add: \`fields: [{field, message}]\` for \`validation_failed\`, \`stored\` (whether
a create or update was kept) for the LiveKit codes on provisioning, \`sip_status\`, \`sip_reason\` and
\`call_id\` for failed dials and transfers, \`retry_after_seconds\` for some 429s. \`retryable\` says
whether the same request may succeed later unchanged. A 503 carries \`Retry-After: 30\`; a 429 the
seconds to wait when the limit knows them.

## LiveKit

One code for each thing LiveKit answers, wherever the API meets it (trunks, rules, numbers, calls,
transfers):

| LiveKit answers                            | code                  | status |
| ------------------------------------------ | --------------------- | ------ |
| nothing (unreachable, timeout, 5xx)        | \`livekit_unavailable\` | 503    |
| \`not_found\` (room, participant or object)  | \`livekit_not_found\`   | 409    |
| \`already_exists\`                           | \`livekit_conflict\`    | 409    |
| any other refusal (\`invalid_argument\`, …)  | \`livekit_rejected\`    | 422    |

A failed SIP dial or transfer is named by its SIP answer instead (the \`sip_*\` codes; the SIP
statuses behind each are in docs/admin.md).

## Codes
`;

/** docs/errors.md before prettier: the intro and one table row per catalogue entry. */
export function renderErrorsDoc(): string {
  const rows = Object.entries(errorCatalogue)
    .sort(([a, x], [b, y]) => x.status - y.status || a.localeCompare(b))
    .map(
      ([code, spec]) =>
        `| \`${code}\` | ${spec.status} | ${spec.retryable ? 'yes' : 'no'} | ${spec.meaning} |`,
    );
  return `${intro}\n| code | status | retryable | meaning |\n| --- | --- | --- | --- |\n${rows.join('\n')}\n`;
}
