import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runKamailio, type KamailioProcess } from '../../scripts/stack/kamailio.js';
import { sipOptions } from '../../src/livekit/sip-options.js';

/**
 * A second Kamailio playing the provider (a stand-in for Novofon): a registrar that challenges
 * with digest auth (one account, one password), answers 403 for unknown users, keeps contacts in
 * memory only (a restart forgets them), and delivers calls for its DID to the registered contact
 * with the DID in To, as providers do.
 */
export interface ProviderOptions {
  ip: string;
  port: number;
  account: string;
  password: string;
  did: string;
  realm: string;
  algorithm?: 'MD5' | 'SHA-256';
}

function providerConfig(o: ProviderOptions): string {
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=2
auto_aliases=no
listen=udp:${o.ip}:${o.port}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "kex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "xlog.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "auth.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("auth", "algorithm", "${o.algorithm ?? 'MD5'}")
modparam("usrloc", "db_mode", 0)
modparam("registrar", "min_expires", 10)
request_route {
  if (is_method("OPTIONS") && $rU == $null) { sl_send_reply("200", "OK"); exit; }
  if (is_method("REGISTER")) {
    if ($tU != "${o.account}") { sl_send_reply("403", "Forbidden - unknown user"); exit; }
    if (!pv_www_authenticate("${o.realm}", "${o.password}", "0")) {
      www_challenge("${o.realm}", "0");
      exit;
    }
    save("location");
    exit;
  }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK") && t_check_trans()) { t_relay(); }
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
  if (is_method("INVITE") && $rU == "${o.did}") {
    $rU = "${o.account}";
    if (!lookup("location")) { sl_send_reply("404", "Not Registered"); exit; }
    record_route();
    t_relay();
    exit;
  }
  sl_send_reply("404", "Not Found");
}
`;
}

export interface Provider {
  options: ProviderOptions;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startProvider(options: ProviderOptions): Promise<Provider> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vg-provider-'));
  const configFile = path.join(dir, 'provider.cfg');
  writeFileSync(configFile, providerConfig(options));
  const start = () =>
    runKamailio('kamailio-provider', configFile, {
      logDir: dir,
      runDir: path.join(dir, 'run'),
      ready: async () =>
        (await sipOptions(options.ip, options.port, { timeoutMs: 500, localHost: options.ip }))
          .status === 200,
    });
  let current: KamailioProcess = await start();
  return {
    options,
    async restart() {
      await current.stop();
      current = await start();
    },
    stop: () => current.stop(),
  };
}
