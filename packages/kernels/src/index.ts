export * from './cost-model.js';
export * from './shape.js';
export * from './variants.js';
