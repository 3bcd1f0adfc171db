/**
 * Stands in for zod's locale index in the deployed bundle (wrangler.toml
 * `[alias]`): English only, the language every error of this API is in.
 */
export { default as en } from "zod/v4/locales/en.js";
