// The public library API. The CLI uses only what is exported here.
export * from './errors.js';
export * from './util/rng.js';
export * from './backend/select.js';
export * from './config/schema.js';
export * from './config/load.js';
export * from './data/types.js';
export * from './sae/params.js';
export * from './train/adam.js';
export * from "./io/run-layout.js";
export * from "./sae/forward.js";
