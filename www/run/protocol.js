// The worker protocol: every request carries an id, and its reply, progress and error go to the
// caller that sent it — never to another request, never to the host as an unrelated event. The
// main thread calls `client.call(method, args, {onProgress})`; the worker serves methods with
// `serveWorker(methods)`. Events the worker sends on its own (a circuit was loaded) go to
// `onEvent`. Messages: `{id, method, args}` → `{id, progress}` … `{id, result}` | `{id, error}`;
// `{event, data}`. Types in types/protocol.d.ts.

/** An error from the worker as the caller gets it: an Error with the core's or loader's `name`
 * (ConfigError, CircuitError, …) and, for config errors, the JSON `path`. */
export function errorFromData(data) {
  return Object.assign(new Error(data?.message ?? String(data)), {
    name: data?.name ?? "Error", ...(data?.path ? { path: data.path } : {}), ...(data?.rulesNames ? { rulesNames: data.rulesNames } : {}),
  });
}

/** Plain data of an error, for postMessage. */
export function errorData(error) {
  return {
    name: error?.name ?? "Error", message: error?.message ?? String(error), ...(error?.path ? { path: error.path } : {}),
    // Rules refused for a circuit: their names against the circuit's, to map (rules_view.js).
    ...(error?.rulesNames ? { rulesNames: error.rulesNames } : {}),
  };
}

/**
 * The main thread's side of a worker: `call(method, args, {onProgress, transfer})` returns a
 * promise of that request's result; `terminate(reason)` stops the worker and rejects every pending
 * request with `reason` (an AbortError by default). A worker that fails (a script error, a message
 * that cannot be read) rejects every pending request with that failure, and reports it to
 * `onEvent("failure", errorData)`.
 */
export function connectWorker(worker, { onEvent = () => {} } = {}) {
  let nextId = 1;
  const pending = new Map();
  const rejectAll = (error) => {
    for (const call of pending.values()) call.reject(error);
    pending.clear();
  };
  worker.onmessage = ({ data }) => {
    if (data?.id === undefined) {
      if (data?.event) onEvent(data.event, data.data);
      return;
    }
    const call = pending.get(data.id);
    if (!call) return;
    if ("progress" in data) {
      call.onProgress?.(data.progress);
      return;
    }
    pending.delete(data.id);
    if (data.error) call.reject(errorFromData(data.error));
    else call.resolve(data.result);
  };
  const fail = (message) => {
    const error = Object.assign(new Error(message), { name: "WorkerError" });
    rejectAll(error);
    onEvent("failure", errorData(error));
  };
  worker.onerror = (event) => {
    event.preventDefault?.();
    fail(`the synparam worker failed: ${event.message || "it could not start (see the browser console)"}`);
  };
  worker.onmessageerror = () => fail("the synparam worker sent a message that could not be read");
  return {
    call(method, args = {}, { onProgress, transfer = [] } = {}) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, onProgress });
        worker.postMessage({ id, method, args }, transfer);
      });
    },
    terminate(reason = Object.assign(new Error("stopped"), { name: "AbortError" })) {
      worker.terminate();
      rejectAll(reason);
    },
  };
}

/** A result with buffers to transfer rather than copy. */
export class Transfer {
  constructor(value, buffers) {
    this.value = value;
    this.buffers = buffers;
  }
}

/**
 * The worker's side: answer each request with its method's result (or error), in the requester's
 * id; `methods[name](args, {progress})` may report progress. Methods named in `exclusive` run one
 * at a time, in the order they were asked for (a second run waits for the first; a zip waits for
 * the run before it). `endpoint`: the worker's global scope (default), or `nodeEndpoint(parentPort)`.
 * Returns `{emit(event, data)}` for messages the worker sends on its own.
 */
export function serveWorker(methods, { exclusive = [], endpoint = globalThis } = {}) {
  let queue = Promise.resolve();
  endpoint.onmessage = ({ data }) => {
    const { id, method, args } = data ?? {};
    const reply = (message, transfer = []) => endpoint.postMessage({ id, ...message }, transfer);
    const handle = async () => {
      try {
        if (!Object.hasOwn(methods, method)) throw Object.assign(new Error(`unknown request '${method}'`), { name: "ProtocolError" });
        const result = await methods[method](args ?? {}, { progress: (progress) => reply({ progress }) });
        if (result instanceof Transfer) reply({ result: result.value }, result.buffers);
        else reply({ result });
      } catch (error) {
        reply({ error: errorData(error) });
      }
    };
    if (exclusive.includes(method)) {
      queue = queue.then(handle);
    } else {
      handle();
    }
  };
  return { emit: (event, data) => endpoint.postMessage({ event, data }) };
}

/** A Node worker_threads port (parentPort, or a Worker) as the Web Worker-like endpoint the two
 * functions above take: `onmessage`, `onerror`, `postMessage`, `terminate`. */
export function nodeEndpoint(port) {
  return {
    set onmessage(handler) { port.on("message", (data) => handler({ data })); },
    set onerror(handler) { port.on?.("error", (error) => handler({ message: error.message, preventDefault() {} })); },
    set onmessageerror(handler) { port.on?.("messageerror", handler); },
    postMessage: (message, transfer) => port.postMessage(message, transfer),
    terminate: () => port.terminate?.(),
  };
}

/** Let pending events (messages, abort signals, I/O) run, without the 1–4 ms clamp of
 * setTimeout(0): setImmediate in Node, a MessageChannel round trip in browsers. */
export const yieldToEvents = typeof setImmediate === "function"
  ? () => new Promise((resolve) => setImmediate(resolve))
  : (() => {
    const channel = new MessageChannel();
    const waiting = [];
    channel.port1.onmessage = () => waiting.shift()?.();
    return () => new Promise((resolve) => {
      waiting.push(resolve);
      channel.port2.postMessage(null);
    });
  })();
