// feelin_bench.mjs — the same work as rules_bench.c, done by the npm package feelin
// (installed by bench/rules_bench.sh into a temporary folder; FlowMaster never needs
// Node). feelin has no DMN tables, so the FIRST table is evaluated here the way a
// table engine on top of feelin would: unaryTest() per cell, rule by rule, first hit.
// feelin parses on each call; that is its public API, so that is what we measure.
//
//   node feelin_bench.mjs <rules_table.json> <rules_exprs.json> [seconds]
import { readFileSync } from 'node:fs';
import { evaluate, unaryTest } from 'feelin';

const [table, exprs] = [2, 3].map((i) => JSON.parse(readFileSync(process.argv[i], 'utf8')));
const secs = Number(process.argv[4] || 2);

// the inputs: the LCG of rules_bench.c
const cats = ['A', 'B', 'C', 'D'];
const inputs = [];
let s = 12345;
const next = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0 & 0x7fffffff; return s; };
for (let i = 0; i < 64; i++) {
  const age = 18 + (next() % 60);
  const category = cats[next() % 4];
  const score = 300 + (next() % 500);
  inputs.push({ age, category, score });
}

function firstHit(ctx) {
  for (const r of table.rules) {
    let ok = true;
    for (let k = 0; k < 3 && ok; k++) {
      if (r[k] === '-') continue;
      ok = unaryTest(r[k], { ...ctx, '?': ctx[table.inputs[k]] }).value === true;
    }
    if (ok) return evaluate(r[3], ctx).value;
  }
  return null;
}

function rate(fn) {
  let n = 0;
  const t0 = performance.now();
  let t1;
  do {
    for (let i = 0; i < 100; i++, n++) fn(n);
    t1 = performance.now();
  } while (t1 - t0 < secs * 1000);
  return Math.round(n / ((t1 - t0) / 1000));
}

console.log('table-20-rules-FIRST ' + rate((n) => firstHit(inputs[n & 63])));
for (const e of exprs) {
  const v = evaluate(e.expr, e.context).value;
  if (v === null || v === undefined) throw new Error(e.expr + ' gave null');
  console.log('expr-' + e.name + ' ' + rate(() => evaluate(e.expr, e.context)));
}
