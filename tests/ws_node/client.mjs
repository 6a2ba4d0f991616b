// client.mjs — one WebSocket Gateway client for tests/http/test_websocket.py, driven by a
// JSON spec (argv[2]): the `ws` package for the JSON protocol, or a stock socket.io-client.
//
// spec: {url, proto: "ws"|"sio", token?, headers?, send: [messages], until: [event types or
//        "message"/"presence:join"/"presence:leave"], count?: n events of until[0],
//        timeout_ms, pause: bool (stop reading after ready until a line comes on stdin), raw?: [frames],
//        binary?: bool, exit_when_ready?: bool, flood?: {channel, n, size} (n publishes of size bytes)}
// Prints one JSON line {"ready": true} once every message sent was answered (so the test
// can act), then at the end one {"done": true, "received": [...], "close": {...},
// "http": status} line. Exits when every `until` entry was seen, or at timeout_ms.
import WebSocket from 'ws';
import { io } from 'socket.io-client';

const spec = JSON.parse(process.argv[2]);
const received = [];
let closeInfo = null, httpStatus = null, httpBody = null, finished = false;
const want = new Map((spec.until || []).map((t) => [t, spec.count || 1]));

function seen(key) {
  if (!want.has(key)) return;
  const n = want.get(key) - 1;
  if (n <= 0) want.delete(key); else want.set(key, n);
  if (spec.until && spec.until.length && want.size === 0) finish();
}

function note(kind, payload) {
  if (payload && payload.data && payload.data.blob) delete payload.data.blob;   // flood filler
  received.push({ kind, payload });
  if (kind === 'event' && payload && payload.type) seen(payload.type);
  if (kind === 'message') seen('message');
  if (kind === 'presence' && payload) seen('presence:' + payload.event);
}

function finish() {
  if (finished) return;
  finished = true;
  setTimeout(() => {
    const out = JSON.stringify({ done: true, received, close: closeInfo, http: httpStatus, httpBody }) + '\n';
    process.stdout.write(out, () => process.exit(0));
  }, spec.linger_ms || 50);
}

setTimeout(finish, spec.timeout_ms || 10000);

if (spec.proto === 'sio') {
  const s = io(spec.url, {
    transports: ['websocket'], reconnection: false,
    query: spec.token ? { access_token: spec.token } : {},
  });
  s.on('connect', async () => {
    for (const m of spec.send || []) {
      const r = await s.emitWithAck(m[0], m[1]);
      received.push({ kind: 'ack', payload: r });
    }
    console.log(JSON.stringify({ ready: true }));
  });
  for (const ev of ['event', 'message', 'presence', 'error'])
    s.on(ev, (p) => note(ev, ev === 'event' ? p : p));
  s.on('connect_error', (e) => { httpStatus = e.message || 'connect_error'; finish(); });
  s.on('disconnect', (reason) => { closeInfo = { reason }; });
} else {
  const ws = new WebSocket(spec.url, { headers: spec.headers || {}, maxPayload: 8 << 20 });
  let pending = 0, readySent = false;
  const ready = () => {
    if (readySent || pending > 0) return;
    readySent = true;
    console.log(JSON.stringify({ ready: true }));
    if (spec.exit_when_ready) finish();
    if (spec.pause) {   // stop reading until a line arrives on stdin
      ws._socket.pause();
      process.stdin.once('data', () => ws._socket.resume());
    }
  };
  ws.on('unexpected-response', (req, res) => {
    httpStatus = res.statusCode;
    let body = '';
    res.on('data', (d) => { body += d; });
    res.on('end', () => { httpBody = body; finish(); });
  });
  ws.on('open', () => {
    for (const m of spec.send || []) {
      if (m.id !== undefined) pending++;
      ws.send(JSON.stringify(m));
    }
    for (const f of spec.raw || []) ws.send(f);
    if (spec.flood) {   // {channel, n, size}: publishes with ids 0..n-1
      const blob = 'x'.repeat(spec.flood.size);
      for (let i = 0; i < spec.flood.n; i++) {
        pending++;
        ws.send(JSON.stringify({ type: 'publish', channel: spec.flood.channel, data: { i, blob }, id: i }));
      }
    }
    if (spec.binary) ws.send(Buffer.from([1, 2, 3]));
    ready();
  });
  ws.on('message', (data) => {
    let m;
    try { m = JSON.parse(data.toString()); } catch { received.push({ kind: 'unparsed', payload: data.toString() }); return; }
    if ((m.type === 'ack' || m.type === 'pong' || m.type === 'error') && m.id !== undefined) {
      received.push({ kind: m.type, payload: m });
      pending--;
      ready();
      return;
    }
    if (m.type === 'event') note('event', m.event);
    else note(m.type, m);
  });
  ws.on('close', (code, reason) => { closeInfo = { code, reason: reason.toString() }; finish(); });
  ws.on('error', (e) => { if (!httpStatus) closeInfo = closeInfo || { error: e.message }; });
}
