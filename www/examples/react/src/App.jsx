// A minimal React host: renders <synparam-panel> in a side panel, passes it a circuit URL and a
// seed, listens to its events, and runs it from a host button.
import { useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import "synparam"; // defines <synparam-panel>

const EVENTS = ["synparam-ready", "synparam-result", "synparam-error"];

function App() {
  const panel = useRef(null);
  const [events, setEvents] = useState([]);
  const [synapses, setSynapses] = useState(null);
  useEffect(() => {
    const element = panel.current;
    const record = (event) => setEvents((list) => [...list, event.type]);
    for (const type of EVENTS) element.addEventListener(type, record);
    return () => { for (const type of EVENTS) element.removeEventListener(type, record); };
  }, []);
  const run = async () => {
    const { stats } = await panel.current.run();
    setSynapses(Object.values(stats).reduce((n, s) => n + s.synapses, 0));
  };
  return (
    <div>
      <main>
        <h1>React host</h1>
        <button id="host-run" type="button" onClick={run}>Run from React</button>
        {synapses !== null && <p id="synapses">{synapses} synapses parameterized</p>}
        <ol id="events">{events.map((type, i) => <li key={i}>{type}</li>)}</ol>
      </main>
      <aside>
        <synparam-panel ref={panel} circuit-url="circuit/circuit_config.json" seed="3"></synparam-panel>
      </aside>
    </div>
  );
}

createRoot(document.getElementById("root")).render(<App />);
