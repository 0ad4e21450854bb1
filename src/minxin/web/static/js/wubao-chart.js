/* 五保 centralized support rate per county: a bar per county (green when it meets the target, amber
   when not) and a dashed line at the target. Data from data-wubao-chart='{"names", "rates", "meets",
   "target", "label", "target_label"}' (no inline script: the CSP forbids it). */
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var el = document.querySelector("[data-wubao-chart]");
  if (!el) { return; }
  var spec;
  try { spec = JSON.parse(el.getAttribute("data-wubao-chart")); } catch (e) { return; }
  var top = Math.max(100, Math.ceil(Math.max.apply(null, spec.rates.concat([spec.target])) / 10) * 10);
  var chart = echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({
    animationDuration: 300,
    textStyle: { fontFamily: "inherit" },
    tooltip: { trigger: "axis", renderMode: "richText", axisPointer: { type: "shadow" },
               valueFormatter: function (v) { return v.toFixed(1) + "%"; } },
    grid: { left: 8, right: 64, top: 24, bottom: 4, containLabel: true },
    xAxis: { type: "category", data: spec.names, axisTick: { show: false },
             axisLabel: { interval: 0, color: "#3b4658" } },
    yAxis: { type: "value", min: 0, max: top, interval: 20, splitLine: { lineStyle: { color: "#e6ebf2" } },
             axisLabel: { color: "#6b778a", formatter: "{value}%" } },
    series: [{
      name: spec.label, type: "bar", barMaxWidth: 36,
      data: spec.rates.map(function (v, i) {
        return { value: v, itemStyle: { color: spec.meets[i] ? "#3a8f6a" : "#e0a43a" } };
      }),
      label: { show: true, position: "insideTop", color: "#fff", formatter: function (p) { return p.value.toFixed(1); } },
      markLine: {
        symbol: "none", silent: true,
        lineStyle: { color: "#b42318", type: "dashed", width: 1.5 },
        label: { formatter: spec.target_label, position: "end", color: "#b42318" },
        data: [{ yAxis: spec.target }]
      }
    }]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
