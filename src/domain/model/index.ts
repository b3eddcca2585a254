export * from './errors.js';
export * from './roles.js';
export * from './statuses.js';
export * from './membership-rules.js';
export * from './ids.js';
export * from './actor.js';
export * from './authentication.js';
export * from './text.js';
