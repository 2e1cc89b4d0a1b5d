import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LatencyData, SearchSpace } from '../data/latency.js';
import { UserError } from '../util/errors.js';
import { designObjective } from './objective.js';
import { type CandidateSet, DesignOptimiser, type OptimiserState } from './optimiser.js';
import { ADDITIVE_CALIBRATION, PairPredictor, type DevicePredictor, type PairPredictorState } from './pair.js';

/**
 * Turning the optimiser's output into one design for a device: its `candidates` most probable
 * architectures are checked against the (DNN, device) predictor calibrated on the device's
 * reference measurements; the most accurate one predicted to meet the budget with a margin to
 * spare wins (none: the one predicted fastest). The margin, in log latency, is `z` times the
 * predictor's reference spread, at most `maxMargin`: the spread over 10 references is a noisy
 * guide to the error on the accurate designs near a budget, and capping it was chosen on
 * validation devices (bench:scale, section 4), as were the other numbers.
 */
export interface DesignRule {
  candidates: number;
  z: number;
  /** largest margin in log latency (absent: no cap) */
  maxMargin?: number;
}

/**
 * chosen on validation devices by bench:scale (reports/scale.md, section 4; budgets at the 20th–80th
 * percentiles since session 47; FBNet 1,024 candidates since session 51, with the measured floor)
 */
export const DEFAULT_RULES: Record<SearchSpace, DesignRule> = { nb201: { candidates: 512, z: 0.5 }, fbnet: { candidates: 1024, z: 1, maxMargin: 0.15 } };

/** the rule's margin for a device, in log latency */
export function designMargin(rule: DesignRule, logSpread: number): number {
  return Math.min(rule.z * logSpread, rule.maxMargin ?? Infinity);
}

export interface DesignAnswer {
  arch: number;
  predictedMs: number;
  /** whether some candidate was predicted to meet the budget with the margin */
  feasible: boolean;
  /** candidates whose latency was predicted to reach the answer */
  checked: number;
  /** the answer is a design measured on the device (predictedMs is then its measured latency) */
  measured?: boolean;
}

/**
 * `measured`: designs whose latency on this device is known (the reference architectures the
 * device is described by, and any other a user timed there), arch → ms. No prediction is needed
 * for them, so the most accurate one that meets the budget is a floor under the answer: the
 * optimiser's pick stands unless a measured design is more accurate, or none of its candidates
 * was predicted to meet the budget. It can only lower the regret and never breaks a budget by
 * more than the measurement's own error.
 */
export function decideDesign(opt: DesignOptimiser, device: DevicePredictor, budgetMs: number, objective: ArrayLike<number>, rule: DesignRule, measured?: ReadonlyMap<number, number>): DesignAnswer {
  const answer = new Ranked(opt.candidateSet(device.features, budgetMs, rule.candidates), device, objective).pickUnder(budgetMs, designMargin(rule, device.logSpread));
  return measured ? preferMeasured(answer, measured, budgetMs, objective) : answer;
}

/** a device's reference architectures with their latencies from a full table (arch → ms), as decideDesign's `measured` */
export function measuredReferences(data: LatencyData, latencyMs: ArrayLike<number>): Map<number, number> {
  return new Map(data.referenceArchs.map((a) => [a, latencyMs[a]!]));
}

/** the most accurate measured design within the budget when it beats `answer` (see decideDesign) */
export function preferMeasured(answer: DesignAnswer, measured: ReadonlyMap<number, number>, budgetMs: number, objective: ArrayLike<number>): DesignAnswer {
  let best = -1;
  for (const [arch, ms] of measured) if (ms <= budgetMs && (best < 0 || objective[arch]! > objective[best]!)) best = arch;
  if (best < 0 || (answer.feasible && objective[best]! <= objective[answer.arch]!)) return answer;
  return { arch: best, predictedMs: measured.get(best)!, feasible: true, checked: answer.checked, measured: true };
}

/**
 * The optimiser's candidates, most accurate first (ties: the optimiser's order), found by walking
 * the table in objective order and keeping the candidates, only as far as asked; their latencies
 * are predicted only when asked too. The answer is usually among the first few hundred designs of
 * the walk, so most candidates are neither placed nor predicted (all of them only when none is
 * predicted under the budget).
 */
class Ranked {
  private readonly order: number[] = [];
  /** predicted log latency by place in `order` */
  private readonly pred: number[] = [];
  /** next place of the objective order to walk */
  private walked = 0;
  private readonly ranks: ObjectiveOrder;
  checked = 0;

  constructor(private readonly cands: CandidateSet, private readonly device: DevicePredictor, objective: ArrayLike<number>) {
    this.ranks = objectiveOrder(objective);
  }

  /** the candidate at place i, most accurate first; -1 past the last */
  at(i: number): number {
    const { byObjective, groupEnd } = this.ranks;
    while (this.order.length <= i && this.order.length < this.cands.size && this.walked < byObjective.length) {
      // skip the designs that are no candidates, then one group of equal objective: its candidates in the optimiser's order
      const start = this.cands.nextMember(byObjective, this.walked);
      if (start >= byObjective.length) {
        this.walked = start;
        break;
      }
      const end = groupEnd[start]!;
      const from = this.order.length;
      for (let k = start; k < end; k++) if (this.cands.has(byObjective[k]!)) this.order.push(byObjective[k]!);
      if (this.order.length - from > 1) {
        const group = this.order.splice(from).sort((a, b) => this.cands.score(b) - this.cands.score(a) || a - b);
        this.order.push(...group);
      }
      this.walked = end;
    }
    return i < this.order.length ? this.order[i]! : -1;
  }

  /** the predicted log latency of the candidate at place i */
  private predictedLog(i: number): number {
    if (this.pred[i] === undefined) {
      this.pred[i] = this.device.predictLogMs(this.at(i));
      this.checked++;
    }
    return this.pred[i]!;
  }

  /** the log latency a candidate must be predicted under to meet the budget with `margin` (log) to spare */
  limit(budgetMs: number, margin: number): number {
    return Math.log(budgetMs) - margin;
  }

  under(i: number, limit: number): boolean {
    return this.predictedLog(i) <= limit;
  }

  answer(i: number, feasible: boolean): DesignAnswer {
    return { arch: this.at(i), predictedMs: Math.exp(this.predictedLog(i)), feasible, checked: this.checked };
  }

  /** the most accurate candidate predicted under the budget with `margin` to spare (none: the fastest predicted) */
  pickUnder(budgetMs: number, margin: number): DesignAnswer {
    const limit = this.limit(budgetMs, margin);
    for (let i = 0; this.at(i) >= 0; i++) if (this.under(i, limit)) return this.answer(i, true);
    let fastest = 0;
    for (let i = 1; this.at(i) >= 0; i++) if (this.predictedLog(i) < this.predictedLog(fastest)) fastest = i;
    return this.answer(fastest, false);
  }
}

interface ObjectiveOrder {
  /** the table's designs, highest objective first, equal objectives by index */
  byObjective: Int32Array;
  /** per place of `byObjective`, the end of its group of equal objective */
  groupEnd: Int32Array;
}

const orders = new WeakMap<object, ObjectiveOrder>();
/** once per objective table */
function objectiveOrder(objective: ArrayLike<number>): ObjectiveOrder {
  let o = orders.get(objective);
  if (!o) {
    const byObjective = Int32Array.from({ length: objective.length }, (_, a) => a).sort((a, b) => objective[b]! - objective[a]! || a - b);
    const groupEnd = new Int32Array(byObjective.length);
    for (let k = byObjective.length - 1; k >= 0; k--) {
      const next = k + 1 < byObjective.length && objective[byObjective[k + 1]!] === objective[byObjective[k]!] ? groupEnd[k + 1]! : k + 1;
      groupEnd[k] = next;
    }
    o = { byObjective, groupEnd };
    orders.set(objective, o);
  }
  return o;
}

/**
 * For a user who can measure a few designs on the device: a ranked shortlist of up to `n` designs,
 * the most accurate candidates predicted to meet the budget with `firstZ` × spread to spare first,
 * ending with the rule's own (safer) answer. Measured in this order, the first that meets the
 * budget is the design (`verifyShortlist`): the margin then costs accuracy only when the bolder
 * designs really are too slow. `firstZ` and `n` are chosen on validation devices by bench:scale.
 */
export function shortlistDesigns(opt: DesignOptimiser, device: DevicePredictor, budgetMs: number, objective: ArrayLike<number>, rule: DesignRule, n: number, firstZ = 0): DesignAnswer[] {
  const r = new Ranked(opt.candidateSet(device.features, budgetMs, rule.candidates), device, objective);
  const safe = r.pickUnder(budgetMs, designMargin(rule, device.logSpread));
  const list: DesignAnswer[] = [];
  const limit = r.limit(budgetMs, firstZ * device.logSpread);
  for (let i = 0; r.at(i) >= 0; i++) {
    const a = r.at(i);
    if (list.length >= n - 1 || objective[a]! <= objective[safe.arch]!) break;
    if (a !== safe.arch && r.under(i, limit)) list.push(r.answer(i, true));
  }
  return [...list, safe].map((d) => ({ ...d, checked: r.checked }));
}

/**
 * Measures the shortlist in order (`measureMs`: a real measurement, or a latency table in a
 * benchmark) and keeps the first design that meets the budget; when none does, the fastest measured.
 */
export function verifyShortlist(list: readonly DesignAnswer[], measureMs: (arch: number) => number, budgetMs: number): { arch: number; measured: number; met: boolean } {
  let fastest = { arch: list[0]!.arch, ms: Infinity };
  for (let i = 0; i < list.length; i++) {
    const ms = measureMs(list[i]!.arch);
    if (ms <= budgetMs) return { arch: list[i]!.arch, measured: i + 1, met: true };
    if (ms < fastest.ms) fastest = { arch: list[i]!.arch, ms };
  }
  return { arch: fastest.arch, measured: list.length, met: false };
}

export { designObjective } from './objective.js';

/** trains both networks on the given devices (the CLI: every device of the table) */
export async function trainScaleModel(data: LatencyData, devices: string[], o: { steps?: number; rule?: DesignRule } = {}, log?: (s: string) => void): Promise<Omit<ScaleModelFile, 'format' | 'created'>> {
  const steps = o.steps ? { steps: o.steps } : {};
  log?.(`training the (DNN, device) predictor on ${devices.length} devices…`);
  const pair = await PairPredictor.train(data, devices, steps, log);
  log?.('training the design optimiser…');
  const optimiser = await DesignOptimiser.train(data, devices, designObjective(data), steps, log);
  return { space: data.space, rule: o.rule ?? DEFAULT_RULES[data.space], calibration: { additive: ADDITIVE_CALIBRATION[data.space] !== false }, pair: pair.state, optimiser: optimiser.state };
}

/** what `latencylab design` loads: both networks and the rule, trained on the named devices */
export interface ScaleModelFile {
  format: 'latencylab-scale-1';
  space: string;
  created: string;
  rule: DesignRule;
  /**
   * how a device is calibrated, which the rule was chosen for (PairPredictor.forDevice's options);
   * absent in files saved before the additive blend existed, which keep calibrating without it
   */
  calibration?: { additive: boolean };
  pair: PairPredictorState;
  optimiser: OptimiserState;
}

export function saveScaleModel(file: string, m: Omit<ScaleModelFile, 'format' | 'created'>): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ format: 'latencylab-scale-1', created: new Date().toISOString(), ...m }));
  // rename is atomic: a crash mid-write never leaves a half file where the model was
  renameSync(tmp, file);
}

export function loadScaleModel(file: string, data: LatencyData): { pair: PairPredictor; optimiser: DesignOptimiser; rule: DesignRule; calibration: { additive: boolean }; file: ScaleModelFile } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`cannot read the design model: ${(e as Error).message}`, file);
  }
  const f = json as Partial<ScaleModelFile>;
  if (f?.format !== 'latencylab-scale-1') throw new UserError(`is not a latencylab design model (field 'format' must be 'latencylab-scale-1')`, file);
  if (f.space !== data.space) throw new UserError(`was trained for ${f.space}, not ${data.space}`, file);
  const okStack = (s: unknown) => Array.isArray(s) && s.length > 0 && s.every((l) => l && Array.isArray(l.w) && Array.isArray(l.b) && l.w.length === l.in * l.out && l.b.length === l.out && l.w.every(Number.isFinite));
  if (!f.pair || !(f.pair.towers ? okStack(f.pair.towers.arch) && okStack(f.pair.towers.device) : okStack(f.pair.stack))) throw new UserError(`field 'pair.${f.pair?.towers ? 'towers' : 'stack'}' is damaged`, file);
  if (!f.optimiser || !okStack(f.optimiser.stack)) throw new UserError(`field 'optimiser.stack' is damaged`, file);
  if (!f.rule || !(f.rule.candidates >= 1) || !Number.isFinite(f.rule.z)) throw new UserError(`field 'rule' must hold candidates >= 1 and a finite z`, file);
  if (f.rule.maxMargin !== undefined && !(f.rule.maxMargin >= 0)) throw new UserError(`field 'rule.maxMargin' must be a number >= 0 when present`, file);
  if (f.calibration !== undefined && typeof f.calibration?.additive !== 'boolean') throw new UserError(`field 'calibration.additive' must be true or false when present`, file);
  return { pair: PairPredictor.fromState(data, f.pair), optimiser: DesignOptimiser.fromState(data, f.optimiser), rule: f.rule, calibration: { additive: f.calibration?.additive ?? false }, file: f as ScaleModelFile };
}
