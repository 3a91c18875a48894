/* The public big screen: draws its charts from the figures rendered into the page, then fetches
   fresh figures from the same site every data-refresh seconds. Figures arrive in mg CO2e. */
(function () {
  "use strict";
  var MG_PER_TONNE = 1e9;
  var PALETTE = ["#3ddc84", "#36c2e0", "#f2c14e", "#8fa8ff", "#ff7f6e", "#c38df0"];
  var TEXT = "#d8efe2";
  var AXIS = { axisLabel: { color: TEXT, fontSize: 14, hideOverlap: true }, axisLine: { lineStyle: { color: "#5d7d6b" } },
               splitLine: { lineStyle: { color: "#24453a" } } };
  var root = document.getElementById("screen");
  var locale = document.documentElement.lang || "zh-CN";
  var charts = {};

  function tonnes(mg) { return mg / MG_PER_TONNE; }

  function fmtTonnes(mg) {
    return tonnes(mg).toLocaleString(locale, { minimumFractionDigits: 3, maximumFractionDigits: 3 });
  }

  /* One colour per scenario on every chart, whatever order a chart lists them in. */
  function colourOf(d) {
    var codes = d.by_scenario.map(function (s) { return s.code; }).sort();
    return function (code) { return PALETTE[codes.indexOf(code) % PALETTE.length]; };
  }

  function fixed3(value) { return Number(value).toFixed(3); }

  function withAxes(option) {
    option.xAxis = Object.assign({}, AXIS, option.xAxis);
    option.yAxis = Object.assign({}, AXIS, option.yAxis);
    option.grid = { top: 36, left: 16, right: 24, bottom: 16, containLabel: true };
    option.tooltip = { trigger: "axis", valueFormatter: fixed3 };
    return option;
  }

  var options = {
    scenarios: function (d) {
      var byName = {};
      var colour = colourOf(d);
      d.by_scenario.forEach(function (s) { byName[s.name] = s.mg; });
      return {
        tooltip: { trigger: "item", valueFormatter: fixed3 },
        legend: { bottom: 0, orient: "vertical", textStyle: { color: TEXT, fontSize: 16 },
                  formatter: function (name) { return name + "  " + fmtTonnes(byName[name]); } },
        series: [{ type: "pie", radius: ["40%", "70%"], center: ["50%", "38%"],
                   label: { color: "#0b1f17", fontSize: 14, fontWeight: "bold", position: "inside", formatter: "{d}%" },
                   data: d.by_scenario.map(function (s) {
                     return { name: s.name, value: tonnes(s.mg), itemStyle: { color: colour(s.code) } };
                   }) }]
      };
    },
    trend: function (d) {
      var colour = colourOf(d);
      return withAxes({
        legend: { top: 0, textStyle: { color: TEXT, fontSize: 14 } },
        xAxis: { type: "category", data: d.trend.days.map(function (day) { return day.slice(5); }) },
        yAxis: { type: "value" },
        series: d.trend.series.map(function (s) {
          return { type: "bar", stack: "total", name: s.name, data: s.mg.map(tonnes), itemStyle: { color: colour(s.code) } };
        })
      });
    },
    districts: function (d) {
      var rows = d.districts.slice().reverse();
      return withAxes({
        color: [PALETTE[0]],
        xAxis: { type: "value" },
        yAxis: { type: "category", data: rows.map(function (r) { return r.name; }) },
        series: [{ type: "bar", data: rows.map(function (r) { return tonnes(r.mg); }),
                   label: { show: true, position: "right", color: TEXT, formatter: function (p) { return fixed3(p.value); } } }]
      });
    },
    buildings: function (d) {
      var rows = d.buildings || [];
      return withAxes({
        color: [PALETTE[1]],
        xAxis: { type: "category", data: rows.map(function (r) { return r.name; }) },
        yAxis: { type: "value" },
        series: [{ type: "bar", data: rows.map(function (r) { return r.kg_per_m2; }),
                   label: { show: true, position: "top", color: TEXT } }]
      });
    }
  };

  function showPanel(name, visible) {
    var panel = root.querySelector('[data-panel="' + name + '"]');
    if (panel) { panel.hidden = !visible; }
  }

  function fillFigures(name, figures) {
    var list = root.querySelector('[data-figures="' + name + '"]');
    showPanel(name, Boolean(figures && figures.length));
    if (!list || !figures) { return; }
    list.replaceChildren.apply(list, figures.map(function (f) {
      var item = document.createElement("div");
      var dt = document.createElement("dt");
      var dd = document.createElement("dd");
      var unit = document.createElement("small");
      dt.textContent = f.label;
      unit.textContent = f.unit || "";
      dd.append(f.value + " ", unit);
      item.append(dt, dd);
      return item;
    }));
  }

  function render(d) {
    root.querySelectorAll("[data-kpi]").forEach(function (el) {
      var value = d[el.dataset.kpi];
      el.textContent = el.hasAttribute("data-tonnes") ? fmtTonnes(value) : value.toLocaleString(locale);
    });
    var stamp = document.getElementById("generated-at");
    stamp.dateTime = d.generated_at;
    stamp.textContent = d.generated_at.slice(0, 19).replace("T", " ");
    showPanel("buildings", Boolean(d.buildings));
    fillFigures("campaigns", d.campaigns);
    fillFigures("registry", d.registry);
    Object.keys(options).forEach(function (name) {
      var el = root.querySelector('[data-chart="' + name + '"]');
      if (el.closest("[hidden]")) { return; }
      charts[name] = charts[name] || echarts.init(el);
      charts[name].setOption(options[name](d), true);
      charts[name].resize();
    });
  }

  function refresh() {
    fetch(root.dataset.url, { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(render)
      .catch(function () { /* keep the last figures; the next refresh tries again */ });
  }

  render(JSON.parse(document.getElementById("screen-data").textContent));
  setInterval(refresh, Number(root.dataset.refresh) * 1000);
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (name) { charts[name].resize(); });
  });
})();
