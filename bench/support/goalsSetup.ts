/**
 * jest globalSetup of the benches: names the goals file and the run id of this jest run
 * (bench/support/goals.ts). Set here, in the parent process, before any bench file's worker
 * process starts, so every bench of `npm run bench` records into the same file.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function goalsSetup(): void {
  const run = `${process.pid}-${Date.now()}`;
  process.env.BENCH_GOALS_RUN = run;
  process.env.BENCH_GOALS_FILE ??= join(tmpdir(), `gongjian-bench-goals-${run}.jsonl`);
}
