import type { Graph } from '../ir/graph.js';
import type { ModuleDef, Params, ParamSpec } from '../modules/index.js';
import { GRAPH_KERNEL_FEATURES, graphKernelWork, MLAS_CONV_WORK, mlasConvWork } from './kernels.js';
import { isRange } from '../modules/types.js';
import type { HardwareFacts } from '../runtimes/hardware.js';
import type { SampleRow } from '../store/db.js';

/**
 * Feature vector of one sample for the regression models. Four groups:
 * - cost: the analytic costs (log-scaled: latency spans orders of magnitude);
 * - device: threads, background load, work per thread;
 * - param: the module's own parameters (numbers log-scaled, categories one-hot);
 * - kernel: how CPU kernels see the configuration. Latency is a step function of sizes, not a
 *   smooth function of FLOPs: onnxruntime's MLAS packs channels into blocks of the vector width
 *   (NCHWc with 16 floats on AVX-512), so 17 channels cost like 32. Each size-like parameter gets
 *   its number of vector blocks, its remainder and its padding ratio; MACs are recomputed with
 *   channels padded; the working set and im2col buffer are compared with L1/L2/L3.
 */
export interface FeatureSpace {
  names: string[];
  groups: FeatureGroup[];
  /** columns holding log1p of a work total a kernel's time adds up over (FitContext.additiveColumns) */
  additiveColumns: number[];
  /** `built`: the configuration's parameters and built module graph when the caller has them (saves parsing and building again) */
  encode(row: FeatureSource, built?: BuiltConfig): number[];
}

export interface BuiltConfig {
  params: Params;
  graph: Graph;
}

export type FeatureGroup = 'cost' | 'device' | 'param' | 'kernel';

/** what a feature vector is computed from: a stored sample, or a config about to be predicted */
export type FeatureSource = Pick<
  SampleRow,
  'params_json' | 'threads' | 'load_workers' | 'load_duty' | 'macs' | 'flops' | 'params' | 'input_bytes' | 'output_bytes' | 'weight_bytes' | 'activation_bytes' | 'intensity' | 'nodes'
>;

export interface FeatureOptions {
  /** facts of the measured machine; no kernel features without them */
  hardware?: HardwareFacts;
  kernel?: boolean;
}

const COST_FIELDS = ['macs', 'flops', 'params', 'input_bytes', 'output_bytes', 'weight_bytes', 'activation_bytes', 'intensity', 'nodes'] as const;
/**
 * Columns of every feature vector (the first ones are the cost fields, always) holding log1p of a
 * work total a kernel's time adds up over: bytes in, bytes out, FLOPs (additive-gbt.ts)
 */
export const ADDITIVE_WORK_COLUMNS: readonly number[] = (['input_bytes', 'output_bytes', 'flops'] as const).map((f) => COST_FIELDS.indexOf(f));
/** parameters that are channel counts: the vectorised dimension of MLAS kernels */
const CHANNEL_PARAMS = new Set(['cin', 'cout', 'c', 'in', 'out', 'hidden', 'n']);

/** a size-like parameter: one whose default domain reaches 16 (kernel sizes, strides, counts do not) */
function isSizeLike(spec: ParamSpec): boolean {
  if (spec.kind !== 'int') return false;
  const d = spec.default;
  const max = isRange(d) ? d.max : Math.max(...d.map(Number));
  return max >= 16;
}

const clip = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** whether the module's graph holds a convolution (built once, at the first value of every parameter's domain) */
function hasConv(m: ModuleDef): boolean {
  const first = Object.fromEntries(m.params.map((s) => [s.name, isRange(s.default) ? s.default.min : s.default[0]!]));
  try {
    return m.build(first as Params, 1, false).nodes.some((n) => n.op === 'Conv');
  } catch {
    return false; // a module whose first values do not build together: no convolution features
  }
}

export function featureSpace(m: ModuleDef, opts: FeatureOptions = {}): FeatureSpace {
  const names: string[] = [...COST_FIELDS.map((f) => `log_${f}`), 'threads', 'load', 'log_macs_per_thread'];
  const groups: FeatureGroup[] = [...COST_FIELDS.map(() => 'cost' as const), 'device', 'device', 'device'];
  type Encoder = (p: Record<string, unknown>, row: FeatureSource, graph: () => Graph) => number[];
  const encoders: Encoder[] = [];
  const add = (group: FeatureGroup, featureNames: string[], enc: Encoder) => {
    names.push(...featureNames);
    groups.push(...featureNames.map(() => group));
    encoders.push(enc);
  };
  for (const spec of m.params) {
    if (spec.kind === 'int') {
      add('param', [`log_${spec.name}`], (p) => [Math.log1p(Number(p[spec.name]))]);
    } else {
      const allowed = spec.allowed!;
      add('param', allowed.map((a) => `${spec.name}=${a}`), (p) => allowed.map((a) => (p[spec.name] === a ? 1 : 0)));
    }
  }
  const additive = [...ADDITIVE_WORK_COLUMNS];
  const hw = opts.hardware;
  if (hw && opts.kernel !== false) {
    const W = hw.simdFloats;
    const sizeParams = m.params.filter(isSizeLike).map((s) => s.name);
    for (const name of sizeParams) {
      add('kernel', [`${name}_blocks${W}`, `${name}_rem${W}`, `${name}_pad${W}`], (p) => {
        const v = Number(p[name]);
        const blocks = Math.ceil(v / W);
        return [Math.log1p(blocks), (v % W) / W, (blocks * W) / v];
      });
    }
    const channels = sizeParams.filter((n) => CHANNEL_PARAMS.has(n));
    if (channels.length) {
      add('kernel', ['log_padded_macs'], (p, row) => [Math.log1p(channels.reduce((acc, n) => acc * ((Math.ceil(Number(p[n]) / W) * W) / Number(p[n])), row.macs))]);
    }
    const caches: Array<[string, number]> = [['L1', hw.l1dBytes], ['L2', hw.l2Bytes], ['L3', hw.l3Bytes]];
    add('kernel', caches.flatMap(([l]) => [`ws_vs_${l}`, `ws_over_${l}`]).concat(['weights_vs_L2']), (_p, row) => {
      const ws = row.input_bytes + row.output_bytes + row.weight_bytes;
      return [...caches.flatMap(([, size]) => [clip(Math.log2(ws / size), -10, 10), ws > size ? 1 : 0]), clip(Math.log2((row.weight_bytes + 1) / hw.l2Bytes), -10, 10)];
    });
    add('kernel', GRAPH_KERNEL_FEATURES.map((f) => `log_${f}`), (_p, _row, graph) => {
      const w = graphKernelWork(graph(), hw);
      return GRAPH_KERNEL_FEATURES.map((f) => Math.log1p(w[f]));
    });
    const paramNames = new Set(m.params.map((s) => s.name));
    if (paramNames.has('hw') && paramNames.has('k') && (paramNames.has('cin') || paramNames.has('c'))) {
      // the im2col buffer MLAS fills before its GEMM (grouped/depthwise convs: per group)
      add('kernel', ['log_im2col_bytes', 'im2col_over_L2'], (p) => {
        const hw0 = Number(p.hw);
        const hout = Math.ceil(hw0 / Number(p.stride ?? 1));
        const cin = Number(p.cin ?? 1) / Number(p.groups ?? 1);
        const bytes = Number(p.k) ** 2 * cin * hout * hout * 4;
        return [Math.log1p(bytes), bytes > hw.l2Bytes ? 1 : 0];
      });
    }
    if (hasConv(m)) {
      // the steps of MLAS's convolution loop nest, priced by the additive RM (addgbt); last, so that
      // models stored before them keep their columns
      const first = names.length;
      add('kernel', MLAS_CONV_WORK.map((f) => `log_mlas_${f}`), (_p, _row, graph) => {
        const w = mlasConvWork(graph(), hw);
        return MLAS_CONV_WORK.map((f) => Math.log1p(w[f]));
      });
      additive.push(names.indexOf('log_nchwc_reorder_bytes'), ...MLAS_CONV_WORK.map((_, i) => first + i));
    }
  }
  return {
    names,
    groups,
    additiveColumns: additive,
    encode(row, built) {
      const p = (built?.params ?? JSON.parse(row.params_json)) as Record<string, unknown>;
      // built at most once per row: several kernel encoders read it
      let g = built?.graph;
      const graph = () => (g ??= m.build(p as Params, 1, false));
      // pushed, not spread: encoding runs for every configuration a whole-model prediction meets
      const out: number[] = [];
      for (const f of COST_FIELDS) out.push(Math.log1p(row[f]));
      out.push(row.threads, row.load_workers * row.load_duty, Math.log1p(row.macs / Math.max(1, row.threads)));
      // indexed loops: iterating the encoders' fresh arrays with for-of allocated an iterator result
      // per value here (the largest allocation of a whole-model prediction, by heap sampling)
      for (let i = 0; i < encoders.length; i++) {
        const vs = encoders[i]!(p, row, graph);
        for (let j = 0; j < vs.length; j++) out.push(vs[j]!);
      }
      return out;
    },
  };
}
