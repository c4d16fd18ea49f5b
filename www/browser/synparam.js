// synparam for browsers: the <synparam-panel> custom element and the headless `parameterize` API.
// Built into dist/synparam.js (make dist); worker.js sits beside it and pkg/ beside dist/.
export { SynparamPanel } from "./panel.js";
export { parameterize } from "./api.js";
