import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * sipp's built-in uac scenario with the caller's number from `-key caller`, whose ACK and BYE
 * follow the Record-Route of the 200 OK, as a phone does (the built-in scenario sends them
 * straight to the request URI, which a proxy in between cannot route). Written into `dir`.
 */
export function routedUacScenario(dir: string): string {
  const file = path.join(dir, 'uac.xml');
  // sipp -sd prints the scenario and exits non-zero, so its status says nothing.
  const builtIn = spawnSync('sipp', ['-sd', 'uac'], { encoding: 'utf8' }).stdout;
  if (!builtIn.includes('sip:sipp@[local_ip]')) throw new Error('sipp -sd uac printed no scenario');
  const scenario = builtIn
    .replaceAll('sip:sipp@[local_ip]', 'sip:[caller]@[local_ip]')
    .replace('<recv response="200" rtd="true">', '<recv response="200" rtd="true" rrs="true">')
    .replace(
      /(ACK|BYE) sip:\[service\]@\[remote_ip\]:\[remote_port\] SIP\/2\.0/g,
      '$1 [next_url] SIP/2.0',
    )
    .replaceAll(
      '      Call-ID: [call_id]\n      CSeq: 1 ACK',
      '      Call-ID: [call_id]\n      [routes]\n      CSeq: 1 ACK',
    )
    .replaceAll(
      '      Call-ID: [call_id]\n      CSeq: 2 BYE',
      '      Call-ID: [call_id]\n      [routes]\n      CSeq: 2 BYE',
    );
  if ((scenario.match(/\[routes\]/g) ?? []).length !== 2)
    throw new Error('sipp uac scenario changed shape');
  writeFileSync(file, scenario);
  return file;
}
