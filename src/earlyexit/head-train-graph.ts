import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Adam's constants (tfjs's defaults, which the heads were first tuned with) */
export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

/** the parameters of a head, in the order the training step takes and returns them */
export const PARAMS = ['w1', 'b1', 'w2', 'b2'] as const;
export type Param = (typeof PARAMS)[number];

/**
 * One training step of a cache head as an ONNX graph: forward (dense → ReLU → dense → softmax),
 * the cross-entropy gradient written out by hand, and Adam, in one onnxruntime run. Inputs: a
 * standardised minibatch x [B, in], target probabilities y [B, classes], `scale` = 1/B, `lr` =
 * the bias-corrected step size lr·√(1−β₂ᵗ)/(1−β₁ᵗ), and for each parameter p its value, Adam's
 * first moment m_p and second moment v_p. Outputs: the updated p, m_p, v_p (names with a `'`).
 * B is symbolic, so the last, smaller minibatch of an epoch runs in the same session.
 *
 * Why not tfjs: the same step in tfjs on the wasm backend ran at 2.5–3.7 GFLOP/s (one op dispatch
 * at a time); onnxruntime's CPU matmuls make a training round many times cheaper (bench:earlyexit,
 * "compute per 1,000 requests").
 */
export function trainingStepGraph(inDim: number, hidden: number, classes: number): Uint8Array {
  const F = onnx.TensorProto.DataType.FLOAT;
  const nodes: ReturnType<typeof onnx.NodeProto.create>[] = [];
  let k = 0;
  const node = (op: string, inputs: string[], attrs: Record<string, number | number[]> = {}, out = `t${k}`) => {
    nodes.push(
      onnx.NodeProto.create({
        name: `${op}_${k++}`,
        opType: op,
        input: inputs,
        output: [out],
        attribute: Object.entries(attrs).map(([name, v]) => (Array.isArray(v) ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v }) : onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v }))),
      }),
    );
    return out;
  };
  const scalar = (name: string, v: number) => onnx.TensorProto.create({ name, dims: [], dataType: F, floatData: [v] });
  const initializer = [
    scalar('beta1', ADAM.beta1),
    scalar('one_m_beta1', 1 - ADAM.beta1),
    scalar('beta2', ADAM.beta2),
    scalar('one_m_beta2', 1 - ADAM.beta2),
    scalar('eps', ADAM.epsilon),
    scalar('zero', 0),
    onnx.TensorProto.create({ name: 'axis0', dims: [1], dataType: onnx.TensorProto.DataType.INT64, int64Data: [0] }),
  ];
  // forward
  const z1 = node('Add', [node('MatMul', ['x', 'w1']), 'b1']);
  const h = node('Relu', [z1]);
  const logits = node('Add', [node('MatMul', [h, 'w2']), 'b2']);
  const p = node('Softmax', [logits], { axis: -1 });
  // backward of mean cross-entropy with soft targets (rows of y sum to 1): dlogits = (p − y)/B
  const dl = node('Mul', [node('Sub', [p, 'y']), 'scale']);
  const grads: Record<Param, string> = {
    w2: node('MatMul', [node('Transpose', [h], { perm: [1, 0] }), dl]),
    b2: node('ReduceSum', [dl, 'axis0'], { keepdims: 0 }),
    w1: '',
    b1: '',
  };
  const dh = node('MatMul', [dl, node('Transpose', ['w2'], { perm: [1, 0] })]);
  const dz1 = node('Mul', [dh, node('Cast', [node('Greater', [z1, 'zero'])], { to: F })]);
  grads.w1 = node('MatMul', [node('Transpose', ['x'], { perm: [1, 0] }), dz1]);
  grads.b1 = node('ReduceSum', [dz1, 'axis0'], { keepdims: 0 });
  // Adam
  for (const q of PARAMS) {
    const g = grads[q];
    const m = node('Add', [node('Mul', [`m_${q}`, 'beta1']), node('Mul', [g, 'one_m_beta1'])], {}, `m_${q}'`);
    const v = node('Add', [node('Mul', [`v_${q}`, 'beta2']), node('Mul', [node('Mul', [g, g]), 'one_m_beta2'])], {}, `v_${q}'`);
    const step = node('Div', [node('Mul', [m, 'lr']), node('Add', [node('Sqrt', [v]), 'eps'])]);
    node('Sub', [q, step], {}, `${q}'`);
  }
  const shapes: Record<Param, Array<number | string>> = { w1: [inDim, hidden], b1: [hidden], w2: [hidden, classes], b2: [classes] };
  const info = (name: string, dims: Array<number | string>) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: F, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
  const inputs = [info('x', ['B', inDim]), info('y', ['B', classes]), info('scale', []), info('lr', [])];
  const outputs = [];
  for (const q of PARAMS) {
    inputs.push(info(q, shapes[q]), info(`m_${q}`, shapes[q]), info(`v_${q}`, shapes[q]));
    outputs.push(info(`${q}'`, shapes[q]), info(`m_${q}'`, shapes[q]), info(`v_${q}'`, shapes[q]));
  }
  const graph = onnx.GraphProto.create({ name: 'cache_head_training_step', node: nodes, input: inputs, output: outputs, initializer });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, producerName: 'latencylab', opsetImport: [{ domain: '', version: 17 }], graph })).finish();
}

/**
 * A head's forward pass as ONNX nodes, x [B, in] → `out` [B, classes]: standardise with mean/invStd
 * → dense → ReLU → dense → softmax. `name(k)` names the parameters ('mean', 'invStd', 'w1', 'b1',
 * 'w2', 'b2') and the tensors in between. The one definition behind the heads compiled into the
 * model's segments (parameters as initializers) and the trainer's batched forward graph (as inputs).
 */
export function headForwardNodes(x: string, out: string, name: (k: string) => string): onnxProto.onnx.NodeProto[] {
  const node = (op: string, input: string[], output: string, attribute: onnxProto.onnx.IAttributeProto[] = []) => onnx.NodeProto.create({ name: `${output}::${op}`, opType: op, input, output: [output], attribute });
  return [
    node('Sub', [x, name('mean')], name('centred')),
    node('Mul', [name('centred'), name('invStd')], name('std')),
    node('Gemm', [name('std'), name('w1'), name('b1')], name('h')),
    node('Relu', [name('h')], name('hr')),
    node('Gemm', [name('hr'), name('w2'), name('b2')], name('logits')),
    node('Softmax', [name('logits')], out, [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]),
  ];
}

/**
 * A head's forward pass for a batch, weights as inputs (one session serves every round): x [B, in]
 * → probs [B, classes] (headForwardNodes). The trainer predicts the calibration records with it
 * after each round; the same loop in JS took ~0.3 s a round.
 */
export function forwardGraph(inDim: number, hidden: number, classes: number): Uint8Array {
  const F = onnx.TensorProto.DataType.FLOAT;
  const nodes = headForwardNodes('x', 'probs', (k) => k);
  const info = (name: string, dims: Array<number | string>) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: F, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
  const inputs = [info('x', ['B', inDim]), info('mean', [inDim]), info('invStd', [inDim]), info('w1', [inDim, hidden]), info('b1', [hidden]), info('w2', [hidden, classes]), info('b2', [classes])];
  const graph = onnx.GraphProto.create({ name: 'cache_head_forward', node: nodes, input: inputs, output: [info('probs', ['B', classes])] });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, producerName: 'latencylab', opsetImport: [{ domain: '', version: 17 }], graph })).finish();
}
