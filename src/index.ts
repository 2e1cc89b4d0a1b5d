/** latencylab library API. */
export { GraphBuilder, type Graph, type GraphCost, type Tensor } from './ir/graph.js';
export { toOnnx, OPSET } from './ir/onnx.js';
export { TfjsGraphRunner } from './ir/tfjs.js';
export { MODULES, getModule, type ModuleDef, type Params, type ParamSpec } from './modules/index.js';
export { profile, measureChunk, measureConfig, type ProfileRequest, type ProfileResult } from './profile/profiler.js';
export { planConfigs, SAMPLERS, type SamplerName, type PlannedConfig } from './profile/sampler.js';
export { parseSpace, loadSpaceFile, defaultSpace, type Space, type DeviceSettings } from './profile/space.js';
export { measure, DEFAULT_TIMING, type TimingOptions, type TimingStats } from './profile/timer.js';
export { DEVICES, getRuntime, type Runtime } from './runtimes/index.js';
export { REGRESSORS, getRegressorKind, featureSpace, type Regressor } from './regressors/index.js';
export { trainAndSelect, predictConfig, type SelectionResult } from './select/autoselect.js';
export { Store, defaultDbPath } from './store/db.js';
export { datasetRows, toCsv } from './store/export.js';
export { UserError } from './util/errors.js';
