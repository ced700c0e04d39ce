/**
 * What the benchmark found: per scenario the medians and the paired ratios,
 * the goals of issues 6, 13 and 18 each marked met or not, and the machine it ran on.
 * Printed as Markdown tables (docs/performance.md shows the same, and a
 * test checks it against bench/results/latest.json) and written as JSON.
 */
import { median, pairedRatio, quantile, type Samples } from './measure';

export interface ContenderResult {
  label: string;
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  /** Peak RSS in MiB, when measured: the median and the largest run. */
  peakMib?: { median: number; max: number };
}

export interface RatioResult {
  /** The contender measured ... */
  of: string;
  /** ... against this one. */
  to: string;
  /** Median of the per-run ratios. */
  ratio: number;
}

export interface ScenarioResult {
  id: string;
  title: string;
  runs: number;
  contenders: ContenderResult[];
  ratios: RatioResult[];
  /** Peak-memory ratios (median of the per-run ratios of peak RSS), when measured. */
  memoryRatios?: RatioResult[];
  /** The 1-minute load average when the scenario started. */
  loadAtStart?: number;
  /** Anything the reader needs to weigh the numbers (sizes, what a side does). */
  notes: string[];
}

export type Goal =
  | { text: string; kind: 'ratio'; scenario: string; of: string; to: string; max: number }
  | { text: string; kind: 'time'; scenario: string; of: string; maxMs: number }
  | { text: string; kind: 'memory'; scenario: string; of: string; maxMib: number }
  | { text: string; kind: 'memory-ratio'; scenario: string; of: string; to: string; max: number };

export interface GoalResult {
  goal: string;
  measured: string;
  met: boolean;
}

const round = (n: number, digits = 1): number => Number(n.toFixed(digits));

export function summarise(
  id: string,
  title: string,
  samples: Map<string, Samples>,
  comparisons: [of: string, to: string][],
  notes: string[] = [],
  memoryComparisons: [of: string, to: string][] = [],
): ScenarioResult {
  const contenders = [...samples].map(([label, s]): ContenderResult => ({
    label,
    medianMs: round(median(s.wallMs)),
    p10Ms: round(quantile(s.wallMs, 0.1)),
    p90Ms: round(quantile(s.wallMs, 0.9)),
    ...(s.peakKib.length ? { peakMib: { median: round(median(s.peakKib) / 1024), max: round(Math.max(...s.peakKib) / 1024) } } : {}),
  }));
  const ratios = comparisons.map(([of, to]) => ({ of, to, ratio: round(pairedRatio(samples.get(of)!.wallMs, samples.get(to)!.wallMs), 2) }));
  const measured = memoryComparisons.filter(([of, to]) => samples.get(of)!.peakKib.length > 0 && samples.get(to)!.peakKib.length > 0);
  const memoryRatios = measured.map(([of, to]) => ({ of, to, ratio: round(pairedRatio(samples.get(of)!.peakKib, samples.get(to)!.peakKib), 2) }));
  const runs = [...samples.values()][0]?.wallMs.length ?? 0;
  return { id, title, runs, contenders, ratios, ...(memoryRatios.length ? { memoryRatios } : {}), notes };
}

export function evaluate(goals: readonly Goal[], scenarios: readonly ScenarioResult[]): GoalResult[] {
  const results: GoalResult[] = [];
  for (const goal of goals) {
    const scenario = scenarios.find((s) => s.id === goal.scenario);
    if (!scenario) continue; // not run (--only)
    const contender = scenario.contenders.find((c) => c.label === goal.of)!;
    if (goal.kind === 'ratio') {
      const r = scenario.ratios.find((x) => x.of === goal.of && x.to === goal.to)!;
      results.push({ goal: goal.text, measured: `${r.ratio.toFixed(2)}×`, met: r.ratio <= goal.max });
    } else if (goal.kind === 'memory-ratio') {
      const r = scenario.memoryRatios?.find((x) => x.of === goal.of && x.to === goal.to);
      results.push(r ? { goal: goal.text, measured: `${r.ratio.toFixed(2)}× (peak RSS)`, met: r.ratio <= goal.max } : { goal: goal.text, measured: 'not measured (no GNU time)', met: false });
    } else if (goal.kind === 'time') {
      results.push({ goal: goal.text, measured: `${contender.medianMs.toFixed(0)} ms`, met: contender.medianMs <= goal.maxMs });
    } else if (contender.peakMib) {
      results.push({ goal: goal.text, measured: `${contender.peakMib.max.toFixed(0)} MiB (largest run)`, met: contender.peakMib.max <= goal.maxMib });
    } else {
      results.push({ goal: goal.text, measured: 'not measured (no /usr/bin/time)', met: false });
    }
  }
  return results;
}

function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const ms = (n: number): string => (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(0)} ms`);

export function formatScenarios(scenarios: readonly ScenarioResult[]): string {
  const rows: string[][] = [];
  for (const s of scenarios) {
    s.contenders.forEach((c, i) => {
      const ratio = [
        ...s.ratios.filter((r) => r.of === c.label).map((r) => `${r.ratio.toFixed(2)}× ${r.to}`),
        ...(s.memoryRatios ?? []).filter((r) => r.of === c.label).map((r) => `memory ${r.ratio.toFixed(2)}×`),
      ].join(', ');
      rows.push([
        i === 0 ? s.title : '',
        c.label,
        ms(c.medianMs),
        `${ms(c.p10Ms)}–${ms(c.p90Ms)}`,
        c.peakMib ? `${c.peakMib.median.toFixed(0)} MiB` : '',
        ratio,
        i === 0 && s.loadAtStart !== undefined ? s.loadAtStart.toFixed(1) : '',
      ]);
    });
  }
  return markdownTable(['scenario', 'command', 'median', 'p10–p90', 'peak RSS', 'ratio (paired median)', 'load'], rows);
}

export function formatGoals(goals: readonly GoalResult[]): string {
  return markdownTable(['goal', 'measured', ''], goals.map((g) => [g.goal, g.measured, g.met ? 'met' : '**not met**']));
}

export interface Machine {
  nproc: number;
  cpu: string;
  memoryGib: number;
  kernel: string;
  node: string;
  openssl: string;
  easyrsa: string;
  /** 1-minute load average when the run started and when it ended: other work on the machine slows every side. */
  loadAverage: [start: number, end: number];
}

export function formatMachine(m: Machine): string {
  const load = m.loadAverage.map((l) => l.toFixed(1)).join(' → ');
  return `${m.nproc} × ${m.cpu}, ${m.memoryGib} GiB, Linux ${m.kernel}; Node ${m.node}, ${m.openssl}, easy-rsa ${m.easyrsa}; load average ${load}`;
}
