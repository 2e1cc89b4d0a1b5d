import { GraphBuilder } from '../ir/graph.js';
import { common, int, spec, type ModuleDef } from './types.js';

/**
 * One LSTM layer, sequence first (onnxruntime runs no other layout), forward or bidirectional:
 * the recurrent layers of CRNN text recognisers, speech and time-series models. GRU and plain RNN
 * layers are predicted from it by their share of the gate work (wholemodel/mapping.ts).
 */
export const lstm: ModuleDef = {
  name: 'lstm',
  description: 'LSTM layer (ONNX LSTM, sequence first), forward or bidirectional',
  params: [
    common.batch,
    spec.int('seq', 'time steps', { min: 2, max: 128, log: true }),
    common.channels('input', 'input features', { min: 16, max: 512, step: 16, log: true }),
    common.channels('hidden', 'hidden units', { min: 16, max: 512, step: 16, log: true }),
    spec.int('directions', 'directions', [1, 2]),
  ],
  build(p, seed, withWeights) {
    const b = new GraphBuilder('lstm', seed, withWeights);
    const x = b.input('x', [int(p, 'seq'), int(p, 'batch'), int(p, 'input')]);
    b.output(b.lstm(x, int(p, 'hidden'), int(p, 'directions') as 1 | 2));
    return b.build();
  },
};
