/**
 * A regression model (RM) from feature vectors to latency. Every RM learns log(latency) — latency
 * spans orders of magnitude and errors matter in relative terms — and predicts milliseconds.
 */
export interface Regressor {
  readonly kind: string;
  /**
   * `yMs` may hold NaN only for multi-task RMs (rows measured for another task alone); every other
   * RM is given rows with a finite target.
   */
  fit(X: number[][], yMs: number[], ctx?: FitContext): Promise<void> | void;
  predict(X: number[][]): number[];
  /** JSON-serialisable state; `load` of the same kind restores it */
  toJSON(): unknown;
}

export interface FitContext {
  /**
   * Columns of the feature vectors holding log1p of a work total that a kernel's time adds up over
   * (FeatureSpace.additiveColumns): the additive RM prices each; the rest ignore them.
   */
  additiveColumns?: readonly number[];
  /**
   * Other targets of the same rows (another device setting, p90, session-creation time; NaN where
   * not measured). Multi-task RMs learn them jointly with the main target; the rest ignore them.
   */
  tasks?: Array<{ name: string; y: number[] }>;
}

export interface RegressorKind {
  kind: string;
  description: string;
  /** npm library it is built on, or 'own' */
  library: string;
  /** whether it learns from FitContext.tasks */
  multiTask?: boolean;
  create(seed: number): Regressor;
  load(json: unknown): Regressor;
  /** kinds this one combines (an ensemble); a caller that fitted them on the same rows may `compose` */
  members?: readonly string[];
  /** the model built from members already fitted on the same rows (no second fit), or undefined if one is missing */
  compose?(fitted: ReadonlyMap<string, Regressor>): Regressor | undefined;
}
