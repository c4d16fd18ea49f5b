// The demo page: the synparam UI mounted in the page itself, with the bundled example circuit (or
// ?circuit=<url of a circuit_config.json>). Built into dist/page.js by esbuild (make web).
import { createApp } from "./app.js";
import { STYLES } from "./template.js";

// A constructable stylesheet, not a <style> element: the page's Content-Security-Policy allows no
// inline styles.
const sheet = new CSSStyleSheet();
sheet.replaceSync(STYLES);
document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
const circuitUrl = new URL(new URLSearchParams(location.search).get("circuit") ?? "examples/synaptome/circuit_config.json", location.href).href;
const app = createApp(document.getElementById("app"), { workerUrl: new URL("./worker.js", import.meta.url), circuit: { circuitUrl } });
// Anything that goes wrong outside the worker is shown in the page too, never only in the console.
window.addEventListener("error", (event) => app.showError(event.error ?? event.message));
window.addEventListener("unhandledrejection", (event) => app.showError(event.reason));
// Ready once the UI is complete (the editor has the core's spec schema).
app.ready.finally(() => { document.body.dataset.ready = "true"; });
