import { readFile } from "node:fs/promises";
import init, { planRun, Parameterizer } from "../../pkg/synparam.js";
await init({ module_or_path: await readFile(new URL("../../pkg/synparam_bg.wasm", import.meta.url)) });
const model = JSON.parse(await readFile(new URL("../../www/presets/seed_example.json", import.meta.url), "utf8"));
const text = JSON.stringify({ pathway_param_dict: model.pathway_param_dict ?? model }).replace(/^\{/, '{"random_seed": 18446744073709551615,');
try { console.log(planRun(text, {}).settings.seed); } catch (e) { console.log("err", e.message); }
try { const p = new Parameterizer(text); console.log(p.seed()); } catch (e) { console.log("err", e.message); }
