// Requested symbols on their way to predictions (GET /symbols/status): the stage, how long it has been
// there, the share done, where the prices come from, the model, and for a refused one why. Refreshed
// every few seconds; hidden while nothing was requested.
"use strict";

(() => {
  const REFRESH_MS = 5000;
  const STAGES = {
    requested: "requested", validating: "validating", backfilling: "backfilling history",
    streaming: "streaming", warming_features: "warming features", serving: "serving", refused: "refused",
  };

  function duration(seconds) {
    if (seconds < 60) return `${Math.round(seconds)} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
    return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  async function refresh() {
    const panel = document.getElementById("symbol-status-panel");
    try {
      const response = await fetch("/symbols/status");
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const statuses = await response.json();
      panel.hidden = statuses.length === 0;
      const rows = statuses.map((status) => {
        const tr = document.createElement("tr");
        tr.append(
          cell(status.symbol),
          cell(STAGES[status.stage] || status.stage, `stage-${status.stage}`),
          cell(duration(status.in_stage_s)),
          cell(status.progress === null ? "" : `${Math.round(status.progress * 100)} %`),
          cell(status.source, status.source === "synthetic" ? "source-synthetic" : ""),
          cell(status.model || ""),
          cell(status.detail),
        );
        return tr;
      });
      panel.querySelector("tbody").replaceChildren(...rows);
    } catch (error) {
      // The main view reports the gateway's state; this panel just waits for the next refresh.
    }
    setTimeout(refresh, REFRESH_MS);
  }

  refresh();
})();
