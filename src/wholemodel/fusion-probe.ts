import { GraphBuilder, type Graph, type Tensor } from '../ir/graph.js';
import { measureChunk } from '../profile/profiler.js';
import { DEFAULT_TIMING } from '../profile/timer.js';
import type { ModuleDef } from '../modules/index.js';
import type { Runtime } from '../runtimes/types.js';
import type { FusionRule } from './fusion.js';

/**
 * Learns a device's fusion rules by measurement: each rule's pattern is timed as one graph and
 * its parts as separate graphs (interleaved rounds, the profiler's timing). When the pair costs
 * clearly less than the parts — the absorbed op's own time mostly disappears — the runtime fuses
 * it. This is how a device whose runtime cannot write its optimised graph (onnxruntime-web) gets
 * its table checked; on ort-cpu it must agree with the table read off the optimised graphs.
 */
export interface FusionEvidence {
  rule: FusionRule;
  pairMs: number;
  partsMs: number[];
  /** share of the absorbed op's own time that disappears in the pair (1 = entirely) */
  saved: number;
  fused: boolean;
  /** one standalone session.run, taken off every figure above */
  overheadMs?: number;
}

const C = 32;
const HW = 28;

/** each rule: the pair graph and its parts, on a 64-channel 28×28 map or a [1, 196, 256] sequence */
const PATTERNS: Partial<Record<FusionRule, { pair(b: GraphBuilder, x: Tensor): Tensor; parts: Array<(b: GraphBuilder, x: Tensor) => Tensor>; seq?: boolean }>> = {
  'conv-bn': { pair: (b, x) => b.batchNorm(b.conv(x, { cout: C, k: 1 })), parts: [(b, x) => b.conv(x, { cout: C, k: 1 }), (b, x) => b.batchNorm(x)] },
  'conv-act': { pair: (b, x) => b.act(b.conv(x, { cout: C, k: 1 }), 'relu'), parts: [(b, x) => b.conv(x, { cout: C, k: 1 }), (b, x) => b.act(x, 'relu')] },
  'conv-add': { pair: (b, x) => b.add(b.conv(x, { cout: C, k: 1 }), x), parts: [(b, x) => b.conv(x, { cout: C, k: 1 }), (b, x) => b.add(x, b.act(x, 'relu'))] },
  'conv-hardswish': { pair: (b, x) => { const y = b.conv(x, { cout: C, k: 1 }); return b.mul(y, b.hardSigmoid(y)); }, parts: [(b, x) => b.conv(x, { cout: C, k: 1 }), (b, x) => b.mul(x, b.hardSigmoid(x))] },
  'bn-act': { pair: (b, x) => b.act(b.batchNorm(x), 'relu'), parts: [(b, x) => b.batchNorm(x), (b, x) => b.act(x, 'relu')] },
  swish: { pair: (b, x) => b.mul(x, b.act(x, 'sigmoid')), parts: [(b, x) => b.act(x, 'sigmoid'), (b, x) => b.mul(x, b.act(x, 'relu'))] },
  'matmul-add': { seq: true, pair: (b, x) => b.linear(x, 256), parts: [(b, x) => b.linear(x, 256, false), (b, x) => b.add(x, b.parameter([256]))] },
  gelu: { seq: true, pair: (b, x) => b.act(x, 'gelu'), parts: [(b, x) => b.act(x, 'relu'), (b, x) => b.act(x, 'relu')] },
  'add-layernorm': { seq: true, pair: (b, x) => b.layerNorm(b.add(x, b.parameter([1, 196, 256]))), parts: [(b, x) => b.add(x, b.parameter([1, 196, 256])), (b, x) => b.layerNorm(x)] },
};

/** a ReLU over 8 values: the cost of one session.run and next to no work */
function emptyGraph(): Graph {
  const b = new GraphBuilder('empty', 3);
  b.output(b.act(b.input('x', [1, 8, 1, 1]), 'relu'));
  return b.build();
}

function graphOf(name: string, f: (b: GraphBuilder, x: Tensor) => Tensor, seq: boolean): Graph {
  const b = new GraphBuilder(name, 3);
  b.output(f(b, b.input('x', seq ? [1, 196, 256] : [1, C, HW, HW])));
  return b.build();
}

/** a one-off module whose configuration `which` picks the pair (0) or a part (1, 2) */
const probeModule = (graphs: Graph[]): ModuleDef => ({ name: graphs[0]!.name, description: 'fusion probe graphs', params: [], build: (p) => graphs[p.which as number]! });

/** the rules that can be measured (matmul-scale is checked on onnxruntime-node's optimised graph only) */
export const MEASURABLE_RULES = Object.keys(PATTERNS) as FusionRule[];

/**
 * Times every rule's pair against its parts on a device, pair and parts in one chunk (their
 * rounds interleave, so a slow phase of the machine hits all three alike); gelu against one ReLU
 * pass as the reference.
 */
export async function measureFusions(rt: Runtime, threads: number, rules: readonly FusionRule[] = MEASURABLE_RULES): Promise<FusionEvidence[]> {
  const device = { threads, optLevel: 'all' as const, loadWorkers: 0, loadDuty: 0 };
  const out: FusionEvidence[] = [];
  const timing = { ...DEFAULT_TIMING, maxTimeMs: 400, rounds: 7 };
  for (const rule of rules) {
    const p = PATTERNS[rule];
    if (!p) continue;
    const graphs = [graphOf(`${rule}-pair`, p.pair, !!p.seq), ...p.parts.map((f, i) => graphOf(`${rule}-part${i}`, f, !!p.seq)), emptyGraph()];
    const results = await measureChunk(rt, probeModule(graphs), graphs.map((_, which) => ({ params: { which }, device })), timing);
    const ms = results.map((r) => r.timing.latencyMs);
    // every graph timed alone pays one session.run: the near-empty graph measures it
    const overhead = ms[ms.length - 1]!;
    const [pairMs, a, bMs] = ms.slice(0, 3).map((x) => Math.max(1e-6, x - overhead)) as [number, number, number];
    out.push({ ...evidence(rule, pairMs, a, bMs), overheadMs: overhead });
  }
  return out;
}

/**
 * Fused when more than half of what the absorbed op costs alone disappears in the pair. gelu
 * compares against one ReLU pass instead: fused when the five-op pattern costs under 2.5 passes.
 */
export function evidence(rule: FusionRule, pairMs: number, aMs: number, bMs: number): FusionEvidence {
  if (rule === 'gelu') {
    const saved = Math.max(0, Math.min(1, (5 * aMs - pairMs) / (4 * aMs)));
    return { rule, pairMs, partsMs: [aMs], saved, fused: pairMs < 2.5 * aMs };
  }
  const absorbed = rule === 'conv-add' || rule === 'swish' ? bMs / 2 : bMs; // parts built with a helper op: half is the absorbed op
  const saved = Math.max(0, Math.min(1, (aMs + absorbed - pairMs) / Math.max(1e-9, absorbed)));
  return { rule, pairMs, partsMs: [aMs, bMs], saved, fused: saved > 0.5 };
}
