export * from './analyse-measurement.js';
export * from './bench-plan.js';
export * from './compare.js';
export * from './disclosure/index.js';
export * from './error-catalogue.js';
export * from './errors.js';
export * from './families.js';
export * from './gates.js';
export * from './meter-choice.js';
export * from './models.js';
export {
  type AttributionRow,
  buildPhiJson,
  buildPhiReports,
  type DeclaredLever,
  type OperatingPoint,
  type PhiCi,
  type PhiOptions,
  type PhiReport,
  type PhiSet,
  parseDeclaredLever,
} from './phi.js';
export * from './production-function.js';
export * from './profile/index.js';
export * from './quality.js';
export * from './results-document.js';
export * from './results-file.js';
export * from './schemas.js';
export { findPath, pathShares, shapleyValues } from './shapley.js';
export * from './statistics/summary.js';
export {
  bootstrapWindows,
  isInterleaved,
  type JointBootstrap,
  type ResamplingMethod,
} from './statistics/window-bootstrap.js';
// Analytics: units, gates, Φ and attribution, the production function, model scaling.
export * from './units.js';
export * from './validity.js';
