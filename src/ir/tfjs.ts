import type * as tfType from '@tensorflow/tfjs';
import type { Graph, Node } from './graph.js';

type TF = typeof tfType;
type T = tfType.Tensor;

/**
 * Interprets an IR graph with tfjs ops, so the very same module can be timed on the tfjs device.
 *
 * tfjs convolutions and pools only run NHWC, while the IR is NCHW. Rather than transposing around
 * every conv (which would time the transposes), image tensors are kept physically NHWC and every
 * axis-aware op maps its logical NCHW axis. Tensors produced by Reshape/Transpose/MatMul are
 * "plain" (physical = logical); one transpose converts between the two where a graph mixes them.
 */
interface Value {
  t: T;
  nhwc: boolean;
}

const NCHW_TO_NHWC_AXIS = [0, 3, 1, 2];

export class TfjsGraphRunner {
  private readonly consts = new Map<string, Value>();

  constructor(private readonly tf: TF, private readonly g: Graph) {
    for (const init of g.initializers) {
      const t =
        init.data instanceof Float32Array
          ? tf.tensor(init.data, init.shape, 'float32')
          : tf.tensor(Array.from(init.data, Number), init.shape, 'int32');
      this.consts.set(init.name, { t, nhwc: false });
    }
    this.prepareConvWeights();
  }

  /** logical NCHW input → tensors laid out as this runner wants them */
  makeInputs(data: Float32Array[]): T[] {
    return this.g.inputs.map((inp, i) => {
      const t = this.tf.tensor(data[i]!, inp.shape, 'float32');
      if (inp.shape.length !== 4) return t;
      const p = this.tf.transpose(t, [0, 2, 3, 1]);
      t.dispose();
      return p;
    });
  }

  /**
   * Runs the graph; the caller disposes the returned tensors (use inside tf.tidy).
   * @param logical return outputs in NCHW (for checks); timing leaves them in physical layout.
   */
  run(inputs: T[], logical = false): T[] {
    const env = new Map<string, Value>(this.consts);
    this.g.inputs.forEach((inp, i) => env.set(inp.name, { t: inputs[i]!, nhwc: inp.shape.length === 4 }));
    for (const n of this.g.nodes) env.set(n.outputs[0]!, this.exec(n, env));
    return this.g.outputs.map((o) => (logical ? this.toPlain(env.get(o.name)!) : env.get(o.name)!.t));
  }

  dispose(): void {
    for (const v of this.consts.values()) v.t.dispose();
    this.consts.clear();
  }

  // Conv weights are stored OIHW in the IR; tfjs wants HWIO (or HWC1 for depthwise).
  private prepareConvWeights(): void {
    const tf = this.tf;
    for (const n of this.g.nodes) {
      if (n.op === 'ConvTranspose') {
        // IR [cin, cout/group, kh, kw] → tfjs conv2dTranspose's [kh, kw, cout, cin]
        this.consts.set(n.inputs[1]! + '#tf', { t: tf.transpose(this.consts.get(n.inputs[1]!)!.t, [2, 3, 1, 0]), nhwc: false });
        continue;
      }
      if (n.op !== 'Conv') continue;
      const w = this.consts.get(n.inputs[1]!)!;
      const group = n.attrs.group as number;
      const [cout, cinPerGroup] = w.t.shape as number[];
      const cin = cinPerGroup! * group;
      let out: T;
      if (group === 1) out = tf.transpose(w.t, [2, 3, 1, 0]);
      else if (group === cin && cout === cin) out = tf.transpose(w.t, [2, 3, 0, 1]); // depthwise: [kh,kw,C,1]
      else out = tf.transpose(w.t, [2, 3, 1, 0]); // grouped: split along O at run time
      this.consts.set(n.inputs[1]! + '#tf', { t: out, nhwc: false });
    }
  }

  /** ONNX LSTM (gates i, o, f, c; W·x + R·h + Wb + Rb), step by step: Y [seq, directions, batch, hidden] */
  private lstm(x: tfType.Tensor, W: tfType.Tensor, R: tfType.Tensor, B: tfType.Tensor, hidden: number): tfType.Tensor {
    const tf = this.tf;
    const [seq, batch] = x.shape as [number, number, number];
    const dirs: tfType.Tensor[] = [];
    for (let d = 0; d < W.shape[0]!; d++) {
      const w = tf.transpose(tf.gather(W, d)); // [input, 4·hidden]
      const r = tf.transpose(tf.gather(R, d)); // [hidden, 4·hidden]
      const bd = tf.gather(B, d);
      const bias = tf.add(tf.slice(bd, 0, 4 * hidden), tf.slice(bd, 4 * hidden, 4 * hidden));
      let h: tfType.Tensor = tf.zeros([batch, hidden]);
      let c: tfType.Tensor = tf.zeros([batch, hidden]);
      const ys: tfType.Tensor[] = new Array(seq);
      for (let s = 0; s < seq; s++) {
        const t = d === 0 ? s : seq - 1 - s; // the second direction runs backwards
        const g = tf.add(tf.add(tf.matMul(tf.gather(x, t), w), tf.matMul(h, r)), bias);
        const [i, o, f, cc] = tf.split(g, 4, 1) as [tfType.Tensor, tfType.Tensor, tfType.Tensor, tfType.Tensor];
        c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(cc)));
        h = tf.mul(tf.sigmoid(o), tf.tanh(c));
        ys[t] = h;
      }
      dirs.push(tf.stack(ys));
    }
    return tf.stack(dirs, 1);
  }

  private exec(n: Node, env: Map<string, Value>): Value {
    const tf = this.tf;
    const v = (i: number) => env.get(n.inputs[i]!)!;
    const image = (i: number) => this.toNhwc(v(i));
    const plain = (i: number) => this.toPlain(v(i));
    switch (n.op) {
      case 'Conv':
        return { t: this.conv(n, image(0), env), nhwc: true };
      case 'ConvTranspose':
        return { t: this.convTranspose(n, image(0), env), nhwc: true };
      case 'MaxPool':
      case 'AveragePool': {
        const k = (n.attrs.kernel_shape as number[])[0]!;
        const s = (n.attrs.strides as number[])[0]!;
        const p = (n.attrs.pads as number[])[0]!;
        let x = image(0);
        if (p > 0) x = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], n.op === 'MaxPool' ? -Infinity : 0);
        const t = n.op === 'MaxPool' ? tf.maxPool(x as tfType.Tensor4D, k, s, 'valid') : tf.avgPool(x as tfType.Tensor4D, k, s, 'valid');
        return { t, nhwc: true };
      }
      case 'GlobalAveragePool':
        return { t: tf.mean(image(0), [1, 2], true), nhwc: true };
      case 'LSTM':
        return { t: this.lstm(plain(0), v(1).t, v(2).t, v(3).t, n.attrs.hidden_size as number), nhwc: false };
      case 'BatchNormalization': {
        const [scale, bias, m, var_] = [1, 2, 3, 4].map((i) => v(i).t);
        return { t: tf.batchNorm(image(0), m!, var_!, bias!, scale!, n.attrs.epsilon as number), nhwc: true };
      }
      case 'LayerNormalization': {
        const x = plain(0);
        const { mean, variance } = tf.moments(x, -1, true);
        const y = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, n.attrs.epsilon as number)));
        return { t: tf.add(tf.mul(y, v(1).t), v(2).t), nhwc: false };
      }
      case 'Relu':
        return this.same(v(0), tf.relu(v(0).t));
      case 'Clip':
        return this.same(v(0), tf.clipByValue(v(0).t, v(1).t.dataSync()[0]!, v(2).t.dataSync()[0]!));
      case 'Sigmoid':
        return this.same(v(0), tf.sigmoid(v(0).t));
      case 'HardSwish': // x · relu6(x+3) / 6
        return this.same(v(0), tf.mul(v(0).t, tf.div(tf.relu6(tf.add(v(0).t, 3)), 6)));
      case 'Erf':
        return this.same(v(0), tf.erf(v(0).t));
      case 'Add':
      case 'Mul':
      case 'Div': {
        const [a, b] = this.align(v(0), v(1));
        const f = n.op === 'Add' ? tf.add : n.op === 'Mul' ? tf.mul : tf.div;
        return { t: f(a.t, b.t), nhwc: a.nhwc || b.nhwc };
      }
      case 'Concat': {
        const vals = n.inputs.map((_, i) => v(i));
        const nhwc = vals.every((x) => x.nhwc);
        const axis = n.attrs.axis as number;
        const ts = vals.map((x) => (nhwc ? x.t : this.toPlain(x)));
        return { t: tf.concat(ts, nhwc ? NCHW_TO_NHWC_AXIS[axis]! : axis), nhwc };
      }
      case 'Softmax': {
        const x = plain(0);
        const axis = n.attrs.axis as number;
        const last = axis === -1 || axis === x.rank - 1;
        if (last) return { t: tf.softmax(x), nhwc: false };
        const perm = [...Array(x.rank).keys()];
        [perm[axis], perm[x.rank - 1]] = [perm[x.rank - 1]!, perm[axis]!];
        return { t: tf.transpose(tf.softmax(tf.transpose(x, perm)), perm), nhwc: false };
      }
      case 'Reshape':
        return { t: tf.reshape(plain(0), Array.from(v(1).t.dataSync())), nhwc: false };
      case 'Transpose':
        return { t: tf.transpose(plain(0), n.attrs.perm as number[]), nhwc: false };
      case 'MatMul':
        return { t: this.matmul(plain(0), plain(1)), nhwc: false };
      case 'Gemm':
        return { t: tf.add(tf.matMul(plain(0), v(1).t), v(2).t), nhwc: false };
      default:
        throw new Error(`tfjs runner: op ${n.op} is not supported`);
    }
  }

  private conv(n: Node, x: T, env: Map<string, Value>): T {
    const tf = this.tf;
    const w = env.get(n.inputs[1]! + '#tf')!.t as tfType.Tensor4D;
    const stride = (n.attrs.strides as number[])[0]!;
    const pad = (n.attrs.pads as number[])[0]!;
    const dil = (n.attrs.dilations as number[])[0]!;
    const group = n.attrs.group as number;
    const cin = x.shape[3]!;
    const padding: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [pad, pad], [pad, pad], [0, 0]];
    const x4 = x as tfType.Tensor4D;
    let y: T;
    if (group === 1) {
      y = tf.conv2d(x4, w, stride, padding, 'NHWC', dil);
    } else if (group === cin && w.shape[2] === cin) {
      y = tf.depthwiseConv2d(x4, w as unknown as tfType.Tensor4D, stride, padding, 'NHWC', dil);
    } else {
      // tfjs has no grouped conv: split channels, convolve each group, concat (what TF.js users do)
      const xs = tf.split(x4, group, 3);
      const ws = tf.split(w, group, 3);
      y = tf.concat(xs.map((xi, i) => tf.conv2d(xi as tfType.Tensor4D, ws[i] as tfType.Tensor4D, stride, padding, 'NHWC', dil)), 3);
    }
    return n.inputs[2] ? tf.add(y, env.get(n.inputs[2])!.t) : y;
  }

  /**
   * ONNX ConvTranspose as tfjs's 'valid' conv2dTranspose (the full (H−1)·s + k output) cropped by
   * the pads, output_padding taken off the end crop: the forms the IR's convTranspose emits.
   */
  private convTranspose(n: Node, x: T, env: Map<string, Value>): T {
    const tf = this.tf;
    const w = env.get(n.inputs[1]! + '#tf')!.t as tfType.Tensor4D;
    const [kh, kw, cout] = w.shape;
    const s = (n.attrs.strides as number[])[0]!;
    const [pt, pl] = n.attrs.pads as number[];
    const op = (n.attrs.output_padding as number[] | undefined)?.[0] ?? 0;
    if (Number(n.attrs.group ?? 1) !== 1 || op > pt!) throw new Error('tfjs runner: grouped ConvTranspose, or output_padding beyond the padding, is not supported');
    const [b, h, wd] = x.shape as number[];
    const full = [b!, (h! - 1) * s + kh!, (wd! - 1) * s + kw!, cout!] as [number, number, number, number];
    const y = tf.conv2dTranspose(x as tfType.Tensor4D, w, full, s, 'valid');
    const out = tf.slice(y, [0, pt!, pl!, 0], [b!, full[1] - 2 * pt! + op, full[2] - 2 * pl! + op, cout!]);
    return n.inputs[2] ? tf.add(out, env.get(n.inputs[2])!.t) : out;
  }

  private matmul(a: T, b: T): T {
    const tf = this.tf;
    if (a.rank === b.rank) {
      if (a.rank <= 3) return tf.matMul(a as tfType.Tensor3D, b as tfType.Tensor3D);
      const lead = a.shape.slice(0, -2);
      const r = tf.matMul(
        tf.reshape(a, [-1, a.shape[a.rank - 2]!, a.shape[a.rank - 1]!]) as tfType.Tensor3D,
        tf.reshape(b, [-1, b.shape[b.rank - 2]!, b.shape[b.rank - 1]!]) as tfType.Tensor3D,
      );
      return tf.reshape(r, [...lead, ...r.shape.slice(-2)]);
    }
    if (b.rank === 2) {
      // activations [..., k] times a weight [k, n]: flatten the leading dims into one GEMM
      const lead = a.shape.slice(0, -1);
      const r = tf.matMul(tf.reshape(a, [-1, a.shape[a.rank - 1]!]) as tfType.Tensor2D, b as tfType.Tensor2D);
      return tf.reshape(r, [...lead, b.shape[1]!]);
    }
    throw new Error(`tfjs runner: unsupported matmul ranks ${a.rank}·${b.rank}`);
  }

  private same(like: Value, t: T): Value {
    return { t, nhwc: like.nhwc };
  }

  /** Brings two operands to the same physical layout; 4-D constants are permuted to NHWC. */
  private align(a: Value, b: Value): [Value, Value] {
    if (a.nhwc === b.nhwc) return [a, b];
    const fix = (x: Value): Value => (x.t.rank === 4 ? { t: this.toNhwc(x), nhwc: true } : x);
    return a.nhwc ? [a, fix(b)] : [fix(a), b];
  }

  private toNhwc(x: Value): T {
    return x.nhwc || x.t.rank !== 4 ? x.t : this.tf.transpose(x.t, [0, 2, 3, 1]);
  }

  private toPlain(x: Value): T {
    return x.nhwc ? this.tf.transpose(x.t, [0, 3, 1, 2]) : x.t;
  }
}
