/**
 * Every figure a bench holds against a goal goes through `goal()`: it prints one line
 *
 *   GOAL intake ratio: 0.86 (goal >= 0.8) met
 *
 * and appends the figure as a JSON line to the run's goals file, from which
 * bench/support/goalsTeardown.ts prints one table of every goal at the end of `npm run bench`
 * (or of any `jest -c bench/jest.config.js` run). The file is $BENCH_GOALS_FILE, else one
 * under os.tmpdir() that bench/support/goalsSetup.ts names for the run (each bench file runs
 * in its own jest worker process; they all inherit it).
 *
 * A figure without a goal (`goal: null`) is recorded as "reported". `echo: false` records
 * without printing, for rows of a bench's own table that already show value and goal.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export type GoalOp = '<=' | '>=' | '<' | '>';

export interface GoalOptions {
  op: GoalOp;
  /** Printed after the value and the goal: `ms`, `MB`, `cases/s`; none for ratios. */
  unit?: string;
  /** Decimals of the value (default 2). */
  digits?: number;
  /** Extra words after the verdict (what the figure compares, the run's size). */
  note?: string;
  /** false: record it for the final table without printing the line. */
  echo?: boolean;
}

export interface GoalRecord {
  run: string;
  bench: string;
  name: string;
  value: number;
  goal: number | null;
  op: GoalOp;
  unit: string;
  digits: number;
  /** null when there is no goal (reported only). */
  met: boolean | null;
  note?: string;
  at: string;
}

/** Set by goalsSetup for the whole jest run; a bench run some other way gets a file of its own process. */
export function goalsFile(): string {
  if (!process.env.BENCH_GOALS_FILE) process.env.BENCH_GOALS_FILE = join(tmpdir(), `gongjian-bench-goals-${process.pid}-${Date.now()}.jsonl`);
  return process.env.BENCH_GOALS_FILE;
}

export function goalsRun(): string {
  if (!process.env.BENCH_GOALS_RUN) process.env.BENCH_GOALS_RUN = `${process.pid}-${Date.now()}`;
  return process.env.BENCH_GOALS_RUN;
}

const meets = (value: number, goal: number, op: GoalOp): boolean => {
  switch (op) {
    case '<=': return value <= goal;
    case '>=': return value >= goal;
    case '<': return value < goal;
    case '>': return value > goal;
  }
};

const withUnit = (n: string, unit: string) => (unit ? `${n} ${unit}` : n);

/** The line of one record: `GOAL <name>: <value> (goal <op> <goal>) met|not met`. */
export function goalLine(r: Pick<GoalRecord, 'name' | 'value' | 'goal' | 'op' | 'unit' | 'digits' | 'met' | 'note'>): string {
  const value = withUnit(Number.isFinite(r.value) ? r.value.toFixed(r.digits) : String(r.value), r.unit);
  const verdict = r.goal === null ? '(reported, no goal)' : `(goal ${r.op} ${withUnit(String(r.goal), r.unit)}) ${r.met ? 'met' : 'not met'}`;
  return `GOAL ${r.name}: ${value} ${verdict}${r.note ? `; ${r.note}` : ''}`;
}

/** The bench file calling, from jest's expect state when there is one. */
function currentBench(): string {
  const state = (globalThis as unknown as { expect?: { getState?: () => { testPath?: string } } }).expect?.getState?.();
  return state?.testPath ? basename(state.testPath) : basename(process.argv[1] ?? '?');
}

/**
 * Print `value` against `goal` and record it. Returns whether the goal is met (true when
 * there is none), so a bench can still fail on it: `if (ENFORCE) expect(met).toBe(true)`.
 * A value that is not a number (NaN: nothing measured) never meets a goal.
 */
export function goal(name: string, value: number, target: number | null, opts: GoalOptions): boolean {
  const digits = opts.digits ?? 2;
  const met = target === null ? null : Number.isFinite(value) && meets(value, target, opts.op);
  const record: GoalRecord = {
    run: goalsRun(), bench: currentBench(), name, value, goal: target, op: opts.op, unit: opts.unit ?? '', digits, met,
    ...(opts.note ? { note: opts.note } : {}), at: new Date().toISOString(),
  };
  if (opts.echo !== false) process.stdout.write(`${goalLine(record)}\n`);
  try {
    appendFileSync(goalsFile(), `${JSON.stringify(record)}\n`);
  } catch (err) {
    process.stderr.write(`[bench] could not record the goal in ${goalsFile()}: ${(err as Error).message}\n`);
  }
  return met !== false;
}

/** The records of one run (every run's when `run` is undefined), in the order they were made. */
export function readGoals(file = goalsFile(), run?: string): GoalRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).flatMap((line) => {
    try {
      const r = JSON.parse(line) as GoalRecord;
      return run === undefined || r.run === run ? [r] : [];
    } catch {
      return [];
    }
  });
}

/** One table of the records: bench, figure, value, goal, verdict; and the count of each verdict. */
export function goalsTable(records: readonly GoalRecord[]): string {
  if (records.length === 0) return 'GOALS: no figure was recorded against a goal in this run';
  const rows = records.map((r) => [
    r.bench.replace(/\.bench\.ts$/, ''), r.name,
    withUnit(Number.isFinite(r.value) ? r.value.toFixed(r.digits) : String(r.value), r.unit),
    r.goal === null ? '-' : `${r.op} ${withUnit(String(r.goal), r.unit)}`,
    r.met === null ? 'reported' : r.met ? 'met' : 'NOT MET',
  ]);
  const head = ['bench', 'figure', 'value', 'goal', 'result'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const met = records.filter((r) => r.met === true).length;
  const missed = records.filter((r) => r.met === false).length;
  const reported = records.filter((r) => r.met === null).length;
  return [
    `GOALS of this run (${records.length} figures): ${met} met, ${missed} not met, ${reported} reported without a goal`,
    line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line),
  ].join('\n');
}
