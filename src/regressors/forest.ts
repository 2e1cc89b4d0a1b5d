import { RandomForestRegression } from 'ml-random-forest';
import type { Regressor, RegressorKind } from './types.js';

/** Random forest on log(latency) (mljs' ml-random-forest), nn-Meter's default kind of RM. */
class Forest implements Regressor {
  readonly kind = 'forest';
  constructor(private readonly seed: number, private model?: RandomForestRegression) {}

  fit(X: number[][], yMs: number[]): void {
    this.model = new RandomForestRegression({
      seed: this.seed,
      nEstimators: 60,
      maxFeatures: 0.7,
      replacement: true,
      treeOptions: { maxDepth: 14, minNumSamples: 2 },
    });
    this.model.train(X, yMs.map(Math.log));
  }

  predict(X: number[][]): number[] {
    if (!this.model) throw new Error('forest: predict before fit');
    return this.model.predict(X).map(Math.exp);
  }

  toJSON(): unknown {
    return this.model!.toJSON();
  }
}

export const forest: RegressorKind = {
  kind: 'forest',
  description: 'random forest (60 trees) in log space',
  create: (seed) => new Forest(seed),
  load: (json) => new Forest(0, RandomForestRegression.load(json as never)),
};
