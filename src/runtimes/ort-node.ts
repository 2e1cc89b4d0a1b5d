// the project's one entry to onnxruntime-node: telemetry is switched off before it loads
import './ort-telemetry-off.js';
import ort from 'onnxruntime-node';

export default ort;
