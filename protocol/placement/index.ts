// Placement math: request specs, host states, Nova's filters and weighers. Pure.
export * from "./types.ts";
export * from "./filters.ts";
export * from "./weighers.ts";
export * from "./wire.ts";
export * from "./errors.ts";
