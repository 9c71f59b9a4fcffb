/**
 * jest globalTeardown of the benches: after the last bench file, one table of every figure
 * recorded against its goal in this run (bench/support/goals.ts), met or not met.
 */
import { goalsTable, readGoals } from './goals';

export default function goalsTeardown(): void {
  const file = process.env.BENCH_GOALS_FILE;
  if (!file) return;
  const records = readGoals(file, process.env.BENCH_GOALS_RUN);
  process.stdout.write(`\n${goalsTable(records)}\n(${file})\n`);
}
