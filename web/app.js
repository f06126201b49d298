// The browser client: joins a room through the gateway's API (API key or signed link), sends the
// microphone, plays the agent, shows the transcript, and explains ICE failures.
import { Room, RoomEvent, Track } from './vendor/livekit-client.esm.mjs';

const params = new URLSearchParams(location.search);
const form = document.getElementById('join');
const $ = (id) => document.getElementById(id);
/** What a test (or a curious operator in the console) can read. */
const status = (window.__vg = {
  state: 'idle',
  error: null,
  level: 0,
  maxLevel: 0,
  firstRemoteAudioMs: null,
  relay: false,
  agent: null,
});
const started = performance.now();
let room;

function setState(state) {
  status.state = state;
  $('state').textContent = state;
}

function showError(message) {
  status.error = message;
  $('error').textContent = message;
  $('error').hidden = false;
}

/**
 * Asks the TURN servers for a relay candidate on a throwaway connection. The browser reports why
 * it got none: 401 means the credentials were refused (the API and coturn hold different
 * secrets), 701 that the server could not be reached (ports, firewall, server down).
 */
async function probeTurn(iceServers, timeoutMs = 5000) {
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: 'relay' });
  const errors = [];
  const result = new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, errors }), timeoutMs);
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.type === 'relay') {
        clearTimeout(timer);
        resolve({ ok: true, errors });
      } else if (!e.candidate) {
        clearTimeout(timer);
        resolve({ ok: false, errors });
      }
    };
    pc.onicecandidateerror = (e) =>
      errors.push(`${e.errorCode} ${e.errorText || ''} (${e.url})`.trim());
  });
  pc.createDataChannel('probe');
  await pc.setLocalDescription(await pc.createOffer());
  const outcome = await result;
  pc.close();
  return outcome;
}

function explainIceFailure(relay, probe) {
  const lines = ['ICE failed: no media path to LiveKit could be established.'];
  if (relay && probe && !probe.ok) {
    const refused = probe.errors.some((e) => e.startsWith('401'));
    lines.push(
      refused
        ? 'The TURN server refused the credentials (401): the API and coturn do not hold the same TURN secret.'
        : 'The TURN server gave no relay address: it is down or its ports (3478 UDP/TCP, 5349 TLS, relay range) are blocked.',
    );
    if (probe.errors.length) lines.push(`Browser ICE errors: ${probe.errors.join('; ')}`);
  } else if (relay) {
    lines.push(
      'TURN answered, but LiveKit was not reachable through the relay (coturn denying the LiveKit host as a peer?).',
    );
  } else {
    lines.push('Direct UDP/TCP to LiveKit is blocked here. Tick "Relay only" to test TURN.');
  }
  return lines.join('\n');
}

function watchLevel(track) {
  const element = track.attach();
  element.muted = false;
  document.body.appendChild(element);
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  context.createMediaStreamSource(new MediaStream([track.mediaStreamTrack])).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    const rms = Math.sqrt(samples.reduce((sum, v) => sum + v * v, 0) / samples.length);
    status.level = rms;
    status.maxLevel = Math.max(status.maxLevel, rms);
    $('level').value = rms;
    if (rms > 0.01 && status.firstRemoteAudioMs === null)
      status.firstRemoteAudioMs = performance.now() - started;
  }, 50);
  track.once('ended', () => clearInterval(timer));
}

function addTranscript(speaker, text) {
  const item = document.createElement('li');
  item.dataset.speaker = speaker;
  item.textContent = `${speaker}: ${text}`;
  $('transcript').appendChild(item);
}

async function join(values) {
  setState('joining');
  status.relay = values.relay;
  const headers = { 'content-type': 'application/json' };
  if (values.key) headers.authorization = `Bearer ${values.key}`;
  const body = {
    name: values.name || undefined,
    link: values.link || undefined,
    agent_profile: values.agent || undefined,
  };
  const response = await fetch(`/api/rooms/${encodeURIComponent(values.room)}/join`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  const grant = await response.json();
  if (!response.ok) throw new Error(`${grant.message ?? response.statusText}`);
  status.agent = grant.agent;
  if (grant.agent) $('agent-name').textContent = grant.agent.profile_name;

  let probe;
  if (values.relay) {
    if (grant.ice_servers.length === 0)
      throw new Error('Relay only was asked for, but the gateway has no TURN server configured.');
    setState('checking TURN');
    probe = await probeTurn(grant.ice_servers);
    if (!probe.ok) {
      setState('ice-failed');
      showError(explainIceFailure(true, probe));
      return;
    }
  }
  room = new Room({ adaptiveStream: false, dynacast: false });
  room
    .on(RoomEvent.ConnectionStateChanged, (state) => setState(state))
    .on(RoomEvent.TrackSubscribed, (track) => {
      if (track.kind === Track.Kind.Audio) watchLevel(track);
    })
    // Older agents send transcription packets.
    .on(RoomEvent.TranscriptionReceived, (segments, participant) => {
      for (const s of segments)
        if (s.final) addTranscript(participant?.isLocal ? 'you' : 'agent', s.text);
    })
    .on(RoomEvent.Disconnected, (reason) => setState(`disconnected (${reason ?? 'unknown'})`));
  // LiveKit Agents 1.x send each transcript segment as a text stream on this topic.
  room.registerTextStreamHandler('lk.transcription', async (reader, sender) => {
    const text = await reader.readAll();
    if (reader.info.attributes?.['lk.transcription_final'] === 'false' || !text.trim()) return;
    addTranscript(
      sender.identity === room.localParticipant.identity ? 'you' : 'agent',
      text.trim(),
    );
  });
  try {
    await room.connect(grant.livekit_url, grant.token, {
      rtcConfig: {
        iceServers: grant.ice_servers,
        iceTransportPolicy: values.relay ? 'relay' : 'all',
      },
      peerConnectionTimeout: 10_000,
    });
  } catch (error) {
    setState('ice-failed');
    showError(`${explainIceFailure(values.relay, probe)}\n(${error.message})`);
    return;
  }
  await room.localParticipant.setMicrophoneEnabled(true);
  $('leave').disabled = false;
}

form.room.value = params.get('room') ?? '';
form.relay.checked = params.get('relay') === '1';
form.agent.value = params.get('agent') ?? '';
// A link names its agent (or none) itself.
if (params.get('link')) $('key-field').hidden = $('agent-field').hidden = true;
form.addEventListener('submit', (event) => {
  event.preventDefault();
  $('error').hidden = true;
  join({
    room: form.room.value,
    name: form.name.value,
    key: form.key.value,
    agent: params.get('link') ? '' : form.agent.value,
    link: params.get('link'),
    relay: form.relay.checked,
  }).catch((error) => {
    setState('failed');
    showError(error.message);
  });
});
$('leave').addEventListener('click', () => room?.disconnect());
if (params.get('autojoin') === '1') form.requestSubmit();
