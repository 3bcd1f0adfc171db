/** The wire contract every part shares: one zod schema per message, types inferred from it. */
export * from "./ids";
export * from "./time";
export * from "./readings";
export * from "./ingest";
export * from "./actions";
export * from "./command-hub";
export * from "./events";
export * from "./read";
export * from "./live";
export * from "./issues";
export * from "./device-message";
export * from "./access";
