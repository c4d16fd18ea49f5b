// The demo page: the synparam UI mounted in the page itself, with the bundled example circuit (or
// ?circuit=<url of a circuit_config.json>). Built into dist/page.js by esbuild (make web).
import { createApp } from "../ui/app.js";
import { STYLES } from "../ui/template.js";

/** Where the page keeps its model and settings (localStorage). */
export const PAGE_STATE_KEY = "synparam.page.v1";

// A constructable stylesheet, not a <style> element: the page's Content-Security-Policy allows no
// inline styles.
const sheet = new CSSStyleSheet();
sheet.replaceSync(STYLES);
document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
const circuitUrl = new URL(new URLSearchParams(location.search).get("circuit") ?? "examples/synaptome/circuit_config.json", location.href).href;
// The model and the settings set here are kept across reloads, and can be shared as a link.
const app = createApp(document.getElementById("app"), { workerUrl: new URL("./worker.js", import.meta.url), circuit: { circuitUrl }, persist: PAGE_STATE_KEY });
// Anything that goes wrong outside the worker is shown in the page too, never only in the console.
window.addEventListener("error", (event) => app.showError(event.error ?? event.message));
window.addEventListener("unhandledrejection", (event) => app.showError(event.reason));
// The header speaks of the example only while it is the circuit on view.
const exampleNote = document.getElementById("page-example-note");
const appElement = document.getElementById("app");
if (new URLSearchParams(location.search).has("circuit")) exampleNote.hidden = true;
for (const id of ["files", "folder"]) appElement.querySelector(`#${id}`)?.addEventListener("change", () => { exampleNote.hidden = true; });
appElement.querySelector("#drop-zone")?.addEventListener("drop", () => { exampleNote.hidden = true; });
// Ready once the UI is complete (the editor has the core's spec schema).
app.ready.finally(() => { document.body.dataset.ready = "true"; });
