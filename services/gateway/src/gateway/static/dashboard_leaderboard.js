// Tickcast dashboard, live leaderboard: every served model and the no-change baseline scored on the same
// matured predictions, and the picker of the model whose predictions the chart and table follow.
// Loaded before dashboard.js, which calls leaderboardView.* as /models arrives.
// State the tests read is mirrored on <body data-*> (leaderboard-rows, model).
"use strict";

const ROLE_NAMES = { champion: "champion", challenger: "challenger (shadow)", baseline: "baseline" };

const leaderboardView = (() => {
  const $l = (id) => document.getElementById(id);
  const pct = (value, digits) => (value == null ? "–" : `${(value * 100).toFixed(digits)} %`);
  const signed = (value, digits) => (value == null ? "–" : `${value >= 0 ? "+" : ""}${(value * 100).toFixed(digits)} %`);

  function td(text, title, className) {
    const element = document.createElement("td");
    element.textContent = text;
    if (title) element.title = title;
    if (className) element.className = className;
    return element;
  }

  // What the picker offers: the names in /models' "models", labelled with the leaderboard's names.
  function choices(overview) {
    const labels = new Map(overview.leaderboard.entries.map((e) => [e.model, e.label]));
    const champion = overview.champion;
    return (overview.models.length ? overview.models : ["champion"]).map((model) => {
      if (model === "champion") {
        return [model, `champion${champion ? ` — ${champion.name} v${champion.version}` : ""}`];
      }
      if (model === "persistence") return [model, "no-change baseline (persistence)"];
      return [model, `challenger — ${labels.get(model) ?? `v${model}`}`];
    });
  }

  function fillPicker(overview, selected) {
    const select = $l("model");
    const offered = choices(overview);
    const wanted = offered.some(([value]) => value === selected) ? selected : "champion";
    const same = select.options.length === offered.length
      && offered.every(([value, label], i) => select.options[i].value === value && select.options[i].text === label);
    if (!same) select.replaceChildren(...offered.map(([value, label]) => new Option(label, value)));
    select.value = wanted;
    document.body.dataset.model = wanted;
    return wanted;
  }

  function draw(overview, selected) {
    const board = overview.leaderboard;
    const rows = board.entries.map((entry) => {
      const row = document.createElement("tr");
      if (entry.model === selected) row.className = "followed";
      const name = td(entry.label, `follow it with model=${entry.model}`);
      const role = document.createElement("span");
      role.className = "role";
      role.textContent = ROLE_NAMES[entry.role];
      name.append(role);
      const hits = td(pct(entry.hit_rate, 1), "share of predictions with the right direction; below, its 95 % Wilson interval");
      const interval = document.createElement("span");
      interval.className = "interval";
      interval.textContent = `${pct(entry.hit_rate_low, 1)} – ${pct(entry.hit_rate_high, 1)}`;
      hits.append(interval);
      row.append(
        name,
        td(pct(entry.mae, 3), "mean absolute error of the predicted return"),
        td(signed(entry.skill, 1), "1 − MAE / MAE of the no-change forecast", entry.skill > 0 ? "up" : entry.skill < 0 ? "down" : ""),
        hits,
        td(Math.round(entry.count).toLocaleString("en-US"), "matured predictions scored (the same for every model)"),
      );
      return row;
    });
    $l("leaderboard-table").tBodies[0].replaceChildren(...rows);
    $l("leaderboard-empty").hidden = rows.length > 0;
    const promotion = board.live_promotion;
    $l("leaderboard-promotion").textContent = !promotion ? ""
      : promotion.enabled
        ? `Live promotion on: a challenger beating the champion on ≥ ${promotion.min_count.toLocaleString("en-US")} `
          + `shared predictions (Diebold–Mariano, α = ${promotion.alpha}) becomes champion.`
        : "Live promotion off (INFERENCE_LIVE_PROMOTION).";
    const decisions = board.decisions.slice(0, 5).map((d) => {
      const item = document.createElement("li");
      const when = new Date(d.decided_at_ms).toISOString().slice(0, 16).replace("T", " ");
      item.textContent = `${when} UTC — v${d.challenger_version} ${d.promote ? "PROMOTED" : "kept as challenger"}: ${d.reason}`;
      return item;
    });
    $l("promotion-decisions").replaceChildren(...decisions);
    document.body.dataset.leaderboardRows = String(rows.length);
  }

  return { fillPicker, draw };
})();
