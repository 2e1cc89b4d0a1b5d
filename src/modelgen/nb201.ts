import { NB201_OPS } from '../data/latency.js';
import { GraphBuilder, type Graph, type Tensor } from '../ir/graph.js';
import { UserError } from '../util/errors.js';

/**
 * A NAS-Bench-201 network as ONNX, so that a NAS candidate (a row of the bundled NB201 table) can be
 * measured on a user's own device: stem conv 3→16, three stages of 5 cells at C = 16 / 32 / 64 on
 * 32 / 16 / 8 px with a residual reduction block between them, BN + ReLU, global pool, 10 classes —
 * the NATS-Bench topology macro network. A cell's node j sums op(i → j) over i < j; ops: none (no
 * edge), skip_connect, nor_conv_1x1 / nor_conv_3x3 (ReLU → conv → BN), avg_pool_3x3.
 */
export function nb201Network(ops: Uint8Array, name: string): Graph {
  if (ops.length !== 6 || ops.some((o) => o >= NB201_OPS.length)) throw new UserError(`expected 6 edge ops in 0..${NB201_OPS.length - 1}, got [${Array.from(ops)}]`, 'arch');
  const b = new GraphBuilder(name, 201);
  const x = b.input('input', [1, 3, 32, 32]);
  const reluConvBn = (t: Tensor, cout: number, k: number, stride = 1) => b.batchNorm(b.conv(b.act(t, 'relu'), { cout, k, stride, bias: false }));
  const edge = (t: Tensor, op: number, c: number): Tensor | undefined => {
    switch (NB201_OPS[op]) {
      case 'none':
        return undefined;
      case 'skip_connect':
        return t;
      case 'nor_conv_1x1':
        return reluConvBn(t, c, 1);
      case 'nor_conv_3x3':
        return reluConvBn(t, c, 3);
      default:
        return b.avgPool(t, 3, 1, 1);
    }
  };
  // edge order of the table: 0→1, 0→2, 1→2, 0→3, 1→3, 2→3
  const from = [[0], [0, 1], [0, 1, 2]];
  const cell = (input: Tensor, c: number): Tensor => {
    const nodes: Tensor[] = [input];
    let e = 0;
    for (const srcs of from) {
      let sum: Tensor | undefined;
      for (const i of srcs) {
        const y = edge(nodes[i]!, ops[e++]!, c);
        if (y) sum = sum ? b.add(sum, y) : y;
      }
      // a node with no incoming edge is zero: a scalar multiply stands in for the zero op (same cost)
      nodes.push(sum ?? b.mul(input, b.parameter([1])));
    }
    return nodes[3]!;
  };
  let y = b.batchNorm(b.conv(x, { cout: 16, k: 3, bias: false }));
  [16, 32, 64].forEach((c, stage) => {
    if (stage > 0) {
      const r = reluConvBn(reluConvBn(y, c, 3, 2), c, 3);
      const shortcut = b.conv(b.avgPool(y, 2, 2), { cout: c, k: 1, bias: false });
      y = b.add(r, shortcut);
    }
    for (let i = 0; i < 5; i++) y = cell(y, c);
  });
  y = b.act(b.batchNorm(y), 'relu');
  const p = b.globalAvgPool(y);
  b.output(b.linear(b.reshape(p, [1, 64]), 10));
  return b.build();
}
