import { RandomForestRegression } from 'ml-random-forest';
import type { Regressor, RegressorKind } from './types.js';

/** Random forest on log(latency) (mljs' ml-random-forest), nn-Meter's default kind of RM. */
class Forest implements Regressor {
  readonly kind = 'forest';
  constructor(private readonly seed: number, private model?: RandomForestRegression) {}

  fit(X: number[][], yMs: number[]): void {
    this.model = new RandomForestRegression({
      seed: this.seed,
      nEstimators: 50,
      // ml-random-forest draws features per tree, not per split: a subset starves whole trees
      // of the dominant feature (measured: 9% → 67% MAPE on a power law), so every tree sees all
      maxFeatures: 1.0,
      useSampleBagging: true,
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
  description: 'random forest (50 bagged trees) in log space',
  create: (seed) => new Forest(seed),
  load: (json) => new Forest(0, RandomForestRegression.load(json as never)),
};
