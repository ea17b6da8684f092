export {};
export * from './server/index.js';
