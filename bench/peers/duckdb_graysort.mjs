// SPDX-License-Identifier: MIT
// The graysort benchmark's DuckDB peer: sorts 100-byte ascii records (one
// line each, key in the first 10 bytes) from INPUT_GLOB into OUTPUT_FILE
// with COPY (SELECT ... ORDER BY key) TO ..., on THREADS threads, spilling
// to TEMP_DIR. Run by bench/graysort.sh with the @duckdb/node-api package
// that `bench/run.sh --install-peers` puts in bench/.peers/duckdb.
//
// usage: node duckdb_graysort.mjs INPUT_GLOB OUTPUT_FILE THREADS TEMP_DIR
import { createRequire } from 'node:module';
import path from 'node:path';

const [input, output, threads, tempDir] = process.argv.slice(2);
if (!tempDir) {
	console.error('usage: node duckdb_graysort.mjs INPUT_GLOB OUTPUT_FILE THREADS TEMP_DIR');
	process.exit(2);
}
// The package lives in bench/.peers/duckdb, not beside this script.
const peers = process.env.TARN_BENCH_PEERS ||
	path.join(path.dirname(new URL(import.meta.url).pathname), '..', '.peers');
const require = createRequire(path.join(peers, 'duckdb', 'package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');

const sq = (s) => "'" + s.replaceAll("'", "''") + "'";
const instance = await DuckDBInstance.create(':memory:', {
	threads: String(threads),
	temp_directory: tempDir,
});
const conn = await instance.connect();
// One VARCHAR column per line: no delimiter or quote occurs in a record,
// and the sniffer is off so that it cannot guess otherwise.
await conn.run(`COPY (SELECT line FROM read_csv(${sq(input)},
		columns = {'line': 'VARCHAR'}, delim = '\t', quote = '',
		escape = '', header = false, auto_detect = false)
	ORDER BY substr(line, 1, 10))
	TO ${sq(output)} (FORMAT csv, HEADER false, DELIMITER '\t')`);
