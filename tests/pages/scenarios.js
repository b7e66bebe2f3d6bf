// All comparison scenarios: `scenarios[name] = async (env, t) => {...}`. Each runs once with the
// native classes and once with the polyfill's (see runtime.js); the traces must be equal.
import { config } from "./scenarios/config.js";
import { signaling } from "./scenarios/signaling.js";
import { ice } from "./scenarios/ice.js";
import { datachannel } from "./scenarios/datachannel.js";
import { media } from "./scenarios/media.js";
import { negotiationneeded, close, stats } from "./scenarios/lifecycle.js";
import { objects } from "./scenarios/objects.js";
import { legacy } from "./scenarios/legacy.js";

const groups = {
  config,
  signaling,
  ice,
  datachannel,
  media,
  negotiationneeded,
  close,
  stats,
  objects,
  legacy,
};

export const scenarios = {};
for (const [group, set] of Object.entries(groups)) {
  for (const [name, fn] of Object.entries(set)) {
    const key = `${group}/${name}`;
    if (key in scenarios) throw new Error(`duplicate scenario ${key}`);
    scenarios[key] = fn;
  }
}
