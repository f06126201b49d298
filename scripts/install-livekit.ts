// `npm run livekit:install`: builds the pinned LiveKit binaries into the cache (also done on demand).
import { ensureLivekitBinaries } from './stack/binaries.js';

const binaries = await ensureLivekitBinaries((line) => console.log(line));
console.log(`livekit-server: ${binaries.server}\nlivekit-sip:    ${binaries.sip}`);
