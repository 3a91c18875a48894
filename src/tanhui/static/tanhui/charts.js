/* Charts of the portal pages, drawn with the locally served ECharts. Each chart is an element
   <div data-chart="calendar|bars" data-source="ID" data-unit="…"> whose data sits in the
   json_script block ID, so no inline script is needed (the Content-Security-Policy forbids it). */
(function () {
  "use strict";
  var PALETTE = ["#1b7a43", "#2f8fa0", "#c98a12", "#4a6fa5", "#b5524f"];
  var DAY_MS = 86400000;
  var zh = (document.documentElement.lang || "").indexOf("zh") === 0;

  function isoDay(ms) { return new Date(ms).toISOString().slice(0, 10); }

  function round(value) { return Math.round(value * 10) / 10; }

  function calendar(data, el) {
    var last = data.range[1];
    // A phone shows the last 16 weeks, so that a day stays large enough to see and to tap.
    var first = el.clientWidth < 600 ? isoDay(Date.parse(last) - 16 * 7 * DAY_MS) : data.range[0];
    var max = data.days.reduce(function (m, d) { return Math.max(m, d[1]); }, 0) || 1;
    return {
      tooltip: { formatter: function (p) { return p.value[0] + "<br>" + round(p.value[1]) + " " + el.dataset.unit; } },
      visualMap: { min: 0, max: max, show: false, inRange: { color: ["#e3f1e8", "#1b7a43"] } },
      calendar: {
        range: [first, last], top: 28, left: 34, right: 8, bottom: 8, cellSize: ["auto", "auto"],
        dayLabel: { firstDay: 1, nameMap: zh ? "ZH" : "EN", fontSize: 10 },
        monthLabel: { nameMap: zh ? "ZH" : "EN", fontSize: 10 }, yearLabel: { show: false },
        splitLine: { show: false }, itemStyle: { borderColor: "#fff", borderWidth: 2, color: "#f3f6f4" }
      },
      series: [{ type: "heatmap", coordinateSystem: "calendar", data: data.days }]
    };
  }

  function bars(data, el) {
    var stacked = data.series.length > 1;
    return {
      color: PALETTE,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return round(v) + " " + el.dataset.unit; } },
      legend: { show: stacked, top: 0, type: "scroll" },
      grid: { top: stacked ? 36 : 24, left: 8, right: 8, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.categories },
      yAxis: { type: "value", name: el.dataset.unit },
      series: data.series.map(function (s) {
        return { type: "bar", name: s.name, data: s.data.map(round), stack: stacked ? "total" : undefined };
      })
    };
  }

  var builders = { calendar: calendar, bars: bars };
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var data = JSON.parse(document.getElementById(el.dataset.source).textContent);
    var chart = echarts.init(el);
    chart.setOption(builders[el.dataset.chart](data, el));
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
