/**
 * Runs a script in this process and, on exit, writes the CPU time the process used (user + system,
 * µs) to the file named by BENCH_CPU_FILE. CPU time is far less disturbed by other load on a shared
 * machine than wall time. Usage: node [--import tsx] bench/child-cpu.mjs SCRIPT [ARGS…]
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [script] = process.argv.splice(2, 1);
if (!script) {
  console.error("usage: node bench/child-cpu.mjs SCRIPT [ARGS…]");
  process.exit(2);
}
// The script sees the command line it would have seen when run directly.
process.argv[1] = path.resolve(script);
process.on("exit", () => {
  const file = process.env.BENCH_CPU_FILE;
  if (!file) return;
  const { user, system } = process.cpuUsage();
  writeFileSync(file, JSON.stringify({ user, system }));
});
await import(pathToFileURL(path.resolve(script)).href);
