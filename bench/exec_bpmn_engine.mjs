// exec_bpmn_engine.mjs — the comparison of `make bench-exec`: the npm package
// bpmn-engine (installed by bench/exec_bench.sh into a temporary folder; FlowMaster never
// needs Node) running bench/exec_bench_js.bpmn in memory, instances run to completion.
//
// exec_bench_js.bpmn is bench/exec_bench.bpmn with JavaScript instead of FEEL (bpmn-engine
// runs no FEEL); this script first checks that both files hold the same graph (element
// ids and types, sequence flows, the default flow). The XML is parsed and serialized
// once (bpmn-engine's `sourceContext` option), as FlowMaster compiles a definition once
// and caches it; each instance is a new Engine on that context, as bpmn-engine runs one
// execution per Engine. No state is persisted: this is bpmn-engine's in-memory best case.
//
//   node exec_bpmn_engine.mjs <exec_bench.bpmn> <exec_bench_js.bpmn> [seconds per run]
//
// Prints one line per run (sequential, then N instances in flight) and a last line
//   best <instances/s> <label>
import { readFileSync } from 'node:fs';
import { Engine } from 'bpmn-engine';
import * as Elements from 'bpmn-elements';
import BpmnModdle from 'bpmn-moddle';
import serializer, { TypeResolver } from 'moddle-context-serializer';

const [feelXml, jsXml] = [2, 3].map((i) => readFileSync(process.argv[i], 'utf8'));
const secs = Number(process.argv[4] || 2);
const version = JSON.parse(readFileSync(new URL('./node_modules/bpmn-engine/package.json', import.meta.url), 'utf8')).version;

// ---- same graph? (ids, element types, flows, default) --------------------------------
function graph(xml) {
  const els = [...xml.matchAll(/<bpmn:(\w+)\s+id="([^"]+)"([^>]*)>/g)]
    .filter((m) => m[1] !== 'process' && m[1] !== 'definitions')
    .map((m) => {
      const src = /sourceRef="([^"]+)"/.exec(m[3]), tgt = /targetRef="([^"]+)"/.exec(m[3]);
      const def = /default="([^"]+)"/.exec(m[3]);
      return [m[1], m[2], src?.[1], tgt?.[1], def?.[1]].join(' ');
    });
  const conds = [...xml.matchAll(/<bpmn:sequenceFlow id="([^"]+)"[^/]*?>\s*<bpmn:conditionExpression/g)]
    .map((m) => 'cond ' + m[1]);
  return [...els, ...conds].sort().join('\n');
}
if (graph(feelXml) !== graph(jsXml)) {
  console.error('exec_bench.bpmn and exec_bench_js.bpmn are not the same graph');
  process.exit(1);
}

// ---- parse once ------------------------------------------------------------------------
const moddle = await new BpmnModdle().fromXML(jsXml);
const sourceContext = serializer(moddle, TypeResolver(Elements));

function runOne(i) {
  return new Promise((resolve, reject) => {
    const engine = new Engine({ name: 'exec_bench', sourceContext });
    engine.execute({ variables: { amount: 120, customer: 'acme', n: i } }, (err, execution) => {
      if (err) return reject(err);
      // ended (not stopped) through the fork: both branches ran, the join fired, "end" taken
      const v = execution.definitions[0].getProcesses()[0].environment.variables;
      const end = execution.getActivityById('end')?.counters.taken;
      if (execution.stopped || end !== 1 || v.tax !== 48 || v.label !== 'order-ACME') {
        return reject(new Error(`instance ${i} did not complete as expected: end taken ${end}, ` +
                                `tax ${v.tax}, label ${v.label}`));
      }
      resolve();
    });
  });
}

async function run(inflight) {
  // short warm-up (JIT), then count instances completed in `secs`
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) await runOne(-1);
  let done = 0, next = 0;
  const t0 = performance.now(), until = t0 + secs * 1000;
  async function lane() {
    while (performance.now() < until) {
      await runOne(next++);
      done++;
    }
  }
  await Promise.all(Array.from({ length: inflight }, lane));
  const dt = (performance.now() - t0) / 1000;
  return { rate: done / dt, done };
}

console.log(`bpmn-engine ${version} (node ${process.version}), in memory, XML parsed once`);
let best = { rate: 0, label: '' };
for (const inflight of [1, 16, 64]) {
  const r = await run(inflight);
  const label = inflight === 1 ? 'sequential' : `${inflight} in flight`;
  console.log(`  ${label}: ${Math.round(r.rate)} instances/s (${r.done} instances)`);
  if (r.rate > best.rate) best = { rate: r.rate, label };
}
console.log(`best ${Math.round(best.rate)} ${best.label}`);
