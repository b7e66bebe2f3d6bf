// All comparison scenarios: `scenarios[name] = async (env, t) => {...}`. Each runs once with the
// native classes and once with the polyfill's (see runtime.js); the traces must be equal.
import { config } from "./scenarios/config.js";

export const scenarios = { ...config };
