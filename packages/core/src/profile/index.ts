// `etok profile`: joules per kernel in an unmodified CUDA program (docs/spec.md §8): the document's schema, the pass files
// the injection library writes, the trace and replay analysis, and the renderers. Pure functions throughout.
export * from './build.js';
export * from './cells.js';
export * from './pass-files.js';
export { renderProfile, renderProfileHtml, renderProfileLatex, renderProfileMarkdown } from './render.js';
export * from './replay-analysis.js';
export * from './schema.js';
export * from './targets.js';
export * from './trace.js';
