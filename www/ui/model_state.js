// The model's history and its keeping: undo and redo of every change of the model text, the model
// and the settings set in the UI kept across reloads (localStorage, the page only), and a link to
// them (`#model=`, deflated JSON, offered up to LINK_LIMIT characters).
import { createHistory, encodeState, decodeState, LINK_LIMIT } from "./history.js";

/**
 * Mount the undo/redo buttons, their keys and the link button on `$` (keys on `container`).
 * `persist`: the localStorage key (null: nothing kept, no link); `settingsSetHere()`: the settings
 * the user set in the UI (kept with the model); `onTravel()`: after undo or redo put an earlier
 * text into the model. Returns `{changed({coalesce}), keep(), restore()}`: `changed` after any
 * change of the model text (a step to undo, the state kept); `keep()` after a change of the
 * settings set here (kept, no step to undo); `restore()` applies the state a link or the
 * last visit left and resolves with its settings `{settings, by}` (null when there is none).
 */
export function mountModelState({ $, container, persist, settingsSetHere, onTravel }) {
  const history = createHistory($("config").value);
  const show = () => {
    $("undo").disabled = !history.canUndo;
    $("redo").disabled = !history.canRedo;
  };
  const kept = () => ({ config: $("config").value, settings: settingsSetHere() });
  let persistTimer = null;
  const persistSoon = () => {
    if (!persist) return;
    clearTimeout(persistTimer);
    persistTimer = setTimeout(() => {
      try { localStorage.setItem(persist, JSON.stringify(kept())); } catch { /* storage full or refused: nothing kept */ }
    }, 300);
  };
  const travel = (text) => {
    if (text === null) return;
    $("config").value = text;
    show();
    persistSoon();
    onTravel();
  };
  $("undo").addEventListener("click", () => travel(history.undo()));
  $("redo").addEventListener("click", () => travel(history.redo()));
  container.addEventListener("keydown", (event) => {
    // The text fields keep their own undo; elsewhere Ctrl/⌘+Z undoes the model's last change.
    if (!(event.ctrlKey || event.metaKey) || event.target.closest?.("textarea, input")) return;
    const key = event.key.toLowerCase();
    if (key === "z" && !event.shiftKey) travel(history.undo());
    else if ((key === "z" && event.shiftKey) || key === "y") travel(history.redo());
    else return;
    event.preventDefault();
  });
  show();

  $("share").hidden = !persist;
  $("share").addEventListener("click", async () => {
    const url = new URL(location.href);
    url.hash = `model=${await encodeState(kept())}`;
    if (url.href.length > LINK_LIMIT) {
      $("share-link").hidden = true;
      $("share-note").textContent = `This model is too large for a link (${url.href.length} characters): download the config instead.`;
      return;
    }
    globalThis.history.replaceState(null, "", url);
    $("share-link").value = url.href;
    $("share-link").hidden = false;
    $("share-link").select();
    $("share-note").textContent = "The address bar and this field hold a link to the model and the settings set here.";
    navigator.clipboard?.writeText(url.href).then(() => { $("share-note").textContent += " Copied."; }, () => {});
  });

  return {
    changed({ coalesce = false } = {}) {
      history.record($("config").value, { coalesce });
      show();
      persistSoon();
    },
    /** Keep the state now (soon): the settings set here changed, the model did not. */
    keep: persistSoon,
    /** The state a link (#model=…) or the last visit left, applied before the first validation. */
    async restore() {
      const fragment = new URLSearchParams(location.hash.slice(1)).get("model");
      let state = fragment ? await decodeState(fragment) : null;
      let by = "the link";
      if (fragment && !state) {
        $("status").textContent = "The link's model could not be read (cut short?): the example model is shown.";
        $("status").className = "error";
      }
      if (!state) {
        try { state = JSON.parse(localStorage.getItem(persist) ?? "null"); } catch { state = null; }
        by = "here";
      }
      if (!state || typeof state.config !== "string") return null;
      $("config").value = state.config;
      history.record(state.config);
      show();
      return { settings: state.settings ?? {}, by };
    },
  };
}
