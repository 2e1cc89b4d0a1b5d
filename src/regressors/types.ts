/**
 * A regression model (RM) from feature vectors to latency. Every RM learns log(latency) — latency
 * spans orders of magnitude and errors matter in relative terms — and predicts milliseconds.
 */
export interface Regressor {
  readonly kind: string;
  fit(X: number[][], yMs: number[]): Promise<void> | void;
  predict(X: number[][]): number[];
  /** JSON-serialisable state; `load` of the same kind restores it */
  toJSON(): unknown;
}

export interface RegressorKind {
  kind: string;
  description: string;
  create(seed: number): Regressor;
  load(json: unknown): Regressor;
}
