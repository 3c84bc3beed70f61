// The wasm (Node) driver of the benchmark: the same workload as `pgplay bench`
// (pgplay_node::bench), built for wasm32 from web/bench and timed here with performance.now().
// Prints the same lines as the native driver.
//
//   node scripts/bench-wasm.mjs DIR [--rows N]
//
// DIR holds the `wasm-bindgen --target nodejs` output of pgplay-bench-wasm; scripts/bench.sh
// builds it and runs this script.

import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

function usage(message) {
    console.error(`bench-wasm: ${message}\nusage: node scripts/bench-wasm.mjs DIR [--rows N]`);
    process.exit(2);
}

let dir = null;
let rows = 10000;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
    if (args[i] === '--rows') {
        const value = args[++i];
        if (!/^\d+$/.test(value ?? '') || Number(value) > 0xffffffff) {
            usage(`--rows needs a whole number up to 4294967295, not ${value}`);
        }
        rows = Number(value);
    } else if (dir === null) {
        dir = args[i];
    } else {
        usage(`unexpected argument ${args[i]}`);
    }
}
if (dir === null) usage('no DIR given');

const require = createRequire(import.meta.url);
const wasm = require(path.resolve(dir, 'pgplay_bench_wasm.js'));

try {
    const bench = new wasm.WasmBench();

    let started = performance.now();
    bench.insertRows(rows);
    const insertSeconds = (performance.now() - started) / 1000;

    const scans = wasm.scans();
    let last = null;
    started = performance.now();
    for (let i = 0; i < scans; i++) {
        const scan = bench.scan();
        last = { count: scan.count, sum: scan.sum };
        scan.free();
    }
    const scanMs = (performance.now() - started) / scans;

    const expected = wasm.expectedScan(rows);
    if (last.count !== expected.count || last.sum !== expected.sum) {
        throw new Error(
            `the scan returned count ${last.count}, sum ${last.sum}; ` +
            `expected count ${expected.count}, sum ${expected.sum}`,
        );
    }

    const tps = (rows / insertSeconds).toFixed(0);
    console.log(`insert: ${rows} single-row autocommit INSERTs in ${insertSeconds.toFixed(3)} s = ${tps} tps (wasm, Node)`);
    console.log(`scan:   ${rows}-row scan with filter and aggregate: ${scanMs.toFixed(2)} ms (wasm, Node, mean of ${scans})`);
    console.log(`wal:    ${bench.walBytes()} bytes written`);
    // The planner's queries, as natively: the best of queryRuns(index) runs.
    wasm.queryNames().forEach((name, index) => {
        bench.prepareQuery(index);
        const runs = wasm.queryRuns(index);
        let best = Infinity;
        for (let run = 0; run < runs; run++) {
            const began = performance.now();
            bench.runQuery(index);
            best = Math.min(best, performance.now() - began);
        }
        console.log(`query:  ${name}: ${best.toFixed(1)} ms (wasm, Node, best of ${runs})`);
    });
} catch (error) {
    console.error(`pgplay bench (wasm): ${error.message ?? error}`);
    process.exit(1);
}
