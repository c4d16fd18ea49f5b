// The page as a workspace: the split between the model and the results (chosen by the user, else
// the model wide until a run and side by side after it), skip links to the model, Parameterize and
// the results, and nothing sticky (the run bar) over what has the focus.

/** Mount the workspace's behaviour on the UI in `container`; returns `{showResults()}`, called
 * when a run's results are about to be shown. */
export function mountWorkspace({ $, container }) {
  // The split between the model and the results: the user's choice, else the model wide until a
  // run and side by side after it.
  let splitChosen = false;
  const split = (choice) => {
    container.querySelector(".layout").dataset.split = choice;
    for (const b of container.querySelectorAll(".split-choice button")) b.setAttribute("aria-pressed", String(b.dataset.split === choice));
  };
  for (const button of container.querySelectorAll(".split-choice button")) {
    button.addEventListener("click", () => { splitChosen = true; split(button.dataset.split); });
  }
  const showResults = () => { if (!splitChosen) split("even"); };

  // Skip links: to the model (its grid's cell, else the JSON box), to Parameterize, to the results.
  for (const link of container.querySelectorAll("[data-skip]")) {
    link.addEventListener("click", () => {
      const targets = {
        model: () => container.querySelector("#editor:not([hidden]) #editor-matrix button.cell[tabindex='0']") ?? $("model-heading"),
        // A disabled Parameterize cannot take the focus: its reason does.
        run: () => ($("run").disabled && !$("run-blocked").hidden ? $("run-blocked") : $("run")),
        results: () => $("results-heading"),
      };
      const target = targets[link.dataset.skip]();
      if (target === $("run-blocked")) target.tabIndex = -1;
      target.focus();
    });
  }
  // Nothing sticky covers what has the keyboard's focus: an element under the run bar is scrolled
  // above it (a pointer's focus is left alone: the element is where it was clicked).
  const runBar = container.querySelector(".run-bar");
  container.addEventListener("focusin", (event) => {
    if (runBar.contains(event.target) || event.target.closest?.("dialog") || !event.target.matches?.(":focus-visible")) return;
    const focused = event.target.getBoundingClientRect();
    const bar = runBar.getBoundingClientRect();
    const covered = focused.bottom > bar.top && focused.top < bar.bottom && focused.right > bar.left && focused.left < bar.right;
    if (covered) globalThis.scrollBy?.(0, focused.bottom - bar.top + 8);
  });
  // A form that opens below its cell (the cell form) is scrolled whole above the run bar, as far
  // as its top stays in view: clicked or entered, its fields and buttons are not under the bar,
  // nor after the bar grows under an open form (the run plan shown once the circuit is loaded).
  const keepAboveRunBar = (element) => {
    const box = element.getBoundingClientRect();
    const bar = runBar.getBoundingClientRect();
    const by = Math.min(box.bottom - bar.top + 8, box.top - 8);
    if (box.bottom > bar.top && by > 0) globalThis.scrollBy?.(0, by);
  };
  const cellForm = container.querySelector("#cell-form");
  if (cellForm && globalThis.MutationObserver) {
    new MutationObserver(() => { if (!cellForm.hidden) keepAboveRunBar(cellForm); }).observe(cellForm, { attributes: true, attributeFilter: ["hidden"] });
    let barHeight = runBar.getBoundingClientRect().height;
    globalThis.ResizeObserver && new ResizeObserver(() => {
      const height = runBar.getBoundingClientRect().height;
      if (height > barHeight && !cellForm.hidden) keepAboveRunBar(cellForm);
      barHeight = height;
    }).observe(runBar, { box: "border-box" });
  }

  return { showResults };
}
