/**
 * The wire contract every part shares: one zod schema per message, types inferred from it.
 *
 * Building a zod schema is code that runs at import, which bundlers cannot drop: the dashboard
 * (size-budgeted) imports values from the module that defines them (`protocol/live`, …), never
 * from this index, so it carries only the schemas it uses.
 */
export * from "./ids";
export * from "./time";
export * from "./readings";
export * from "./ingest";
export * from "./actions";
export * from "./command-hub";
export * from "./events";
export * from "./read";
export * from "./live";
export * from "./fleet";
export * from "./issues";
export * from "./device-message";
export * from "./admin";
export * from "./access";
export * from "./devices";
export * from "./device-health";
export * from "./notifications";
export * from "./settings";
export * from "./calendar";
export * from "./calendar-days";
export * from "./ranking";
