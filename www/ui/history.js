// Undo and redo of the model (the config text, the one source of truth) and what the page keeps
// of it across reloads and in links. No DOM here: tested in Node.

/** An undo history of texts: `record(text)` after a change, `undo()`/`redo()` return the text to
 * show (or null when there is none). Typing coalesces: records closer than `coalesceMs` to the
 * previous one replace it (`now` is injectable for tests). At most `limit` entries are kept. */
export function createHistory(initial, { limit = 200, coalesceMs = 800, now = () => Date.now() } = {}) {
  const entries = [initial];
  let index = 0;
  let lastRecord = -Infinity;
  return {
    /** Note the current text (`coalesce`: typing, which merges with a record just before). */
    record(text, { coalesce = false } = {}) {
      if (text === entries[index]) return;
      const time = now();
      entries.length = index + 1; // a new change drops what could be redone
      if (coalesce && time - lastRecord < coalesceMs && index > 0) entries[index] = text;
      else {
        entries.push(text);
        index++;
      }
      lastRecord = coalesce ? time : -Infinity;
      if (entries.length > limit) {
        entries.shift();
        index--;
      }
    },
    undo() {
      if (index === 0) return null;
      lastRecord = -Infinity;
      return entries[--index];
    },
    redo() {
      if (index === entries.length - 1) return null;
      lastRecord = -Infinity;
      return entries[++index];
    },
    get canUndo() { return index > 0; },
    get canRedo() { return index < entries.length - 1; },
  };
}

/** Longest link the page offers for a model (longer ones: download the config instead). */
export const LINK_LIMIT = 8000;

const toBase64Url = (bytes) => btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
const fromBase64Url = (text) => Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));

async function transform(bytes, stream) {
  return new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(stream)).arrayBuffer());
}

/** The page's state (`{config, settings}`: the model text and the settings set in the page) as
 * a URL fragment value: deflated JSON in base64url. */
export async function encodeState(state) {
  return toBase64Url(await transform(new TextEncoder().encode(JSON.stringify(state)), new CompressionStream("deflate-raw")));
}

/** The state a fragment value holds, or null when it is not one (a damaged or foreign link). */
export async function decodeState(text) {
  try {
    const state = JSON.parse(new TextDecoder().decode(await transform(fromBase64Url(text), new DecompressionStream("deflate-raw"))));
    if (!state || typeof state.config !== "string" || (state.settings && typeof state.settings !== "object")) return null;
    return { config: state.config, settings: state.settings ?? {} };
  } catch {
    return null;
  }
}
