/** Normalisers: pure functions from source values to canonical values, keys and validation results. */
export * from './text.ts';
export * from './resident-id.ts';
export * from './uscc.ts';
export * from './phone.ts';
export * from './name.ts';
export * from './email.ts';
export * from './dates.ts';
export * from './mask.ts';
export * from './address.ts';
