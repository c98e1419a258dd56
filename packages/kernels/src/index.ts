export * from './variants.js';
export * from './shape.js';
export * from './cost-model.js';
