// ws_fanout.mjs — the client side of `make bench-ws` (bench/ws_bench.py): N idle WebSocket
// clients in one channel, then R rounds of one published message fanned out to all of them.
// Args: base-url token N R [path]. R = 0: only connect and hold (the CivetWeb probe). Prints {"connected": N} once all are in, waits for a line on
// stdin (the bench measures the idle server meanwhile), runs the rounds, prints one JSON
// line {"last": [ms...], "first": [ms...]} (per round: time from the publish until the
// last / first client had it) and exits. Uses tests/ws_node's pinned `ws` package.
import WebSocket from '../tests/ws_node/node_modules/ws/wrapper.mjs';

const [base, token, nArg, rArg, path] = process.argv.slice(2);
const N = +nArg, R = +rArg;
const url = `${base}${path || '/channels/bench/subscribe'}?access_token=${token}`;
const clients = [];
let round = -1, got = 0, t0 = 0, first = 0;
const last = [], firsts = [];
let roundDone = null;

function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let welcomed = false;
    ws.on('message', (d) => {
      if (!welcomed) { welcomed = true; return resolve(ws); }   // the first frame is the welcome
      // no JSON.parse per frame: the clients' own CPU is part of what is timed
      if (d.includes(`"round":${round}}`)) {
        const now = performance.now();
        if (!got) first = now - t0;
        if (++got === N) { last.push(now - t0); firsts.push(first); roundDone(); }
      }
    });
    ws.on('error', reject);
  });
}

for (let i = 0; i < N; i += 100) {
  const batch = [];
  for (let j = i; j < Math.min(N, i + 100); j++) batch.push(open());
  clients.push(...await Promise.all(batch));
}
const pub = R === 0 ? null : await new Promise((resolve, reject) => {
  const ws = new WebSocket(`${base}/connect?access_token=${token}`);
  ws.on('message', (d) => { if (JSON.parse(d).type === 'welcome') resolve(ws); });
  ws.on('error', reject);
});
console.log(JSON.stringify({ connected: clients.length }));
await new Promise((r) => process.stdin.once('data', r));
for (round = 0; round < R; round++) {
  got = 0;
  const done = new Promise((r) => { roundDone = r; });
  t0 = performance.now();
  pub.send(JSON.stringify({ type: 'publish', channel: 'bench', data: { round } }));
  await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
  if (got < N) { console.log(JSON.stringify({ error: `round ${round}: ${got} of ${N} clients got it` })); process.exit(1); }
  await new Promise((r) => setTimeout(r, 20));
}
process.stdout.write(JSON.stringify({ last, first: firsts }) + '\n', () => process.exit(0));
