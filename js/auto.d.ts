// `import "polyrtc/auto"`: loads the engine and installs on import (mode from
// <meta name="polyrtc-mode">, default "missing").
export * from "./index.js";
import type { InstallInfo } from "./index.js";
/** What the automatic install did (`error` set when the engine could not load). */
export declare const installation: InstallInfo & { error?: unknown };
