/* Staff console for 好差评 and tickets: figures per service and department, and each ticket from 收到 to 回访. */
(function () {
  "use strict";
  var el = daoban.el, $ = function (id) { return document.getElementById(id); };
  var COLORS = ["#16804a", "#5aa469", "#d9b44a", "#e67e22", "#c0392b"];  // 非常满意 .. 非常不满意
  var opts = null, openNo = location.hash.slice(1) || null;

  function when(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }).replace(/:\d\d$/, "") : "—"; }
  function pct(x) { return x == null ? "—" : Math.round(x * 100) + "%"; }
  function tile(value, label, cls) { return el("div", { class: "card tile " + (cls || "") }, [el("div", { class: "v", text: String(value) }), el("div", { class: "l", text: label })]); }

  function spark(trend) {
    var max = Math.max.apply(null, trend.map(function (t) { return t.count; }).concat([1]));
    var w = 110, h = 24, step = w / Math.max(trend.length - 1, 1);
    var pts = trend.map(function (t, i) { return (i * step).toFixed(1) + "," + (h - 3 - (t.count / max) * (h - 6)).toFixed(1); }).join(" ");
    var span = el("span", { title: trend.map(function (t) { return t.day + "：" + t.count; }).join("\n") });
    span.innerHTML = '<svg class="spark" viewBox="0 0 ' + w + " " + h + '" role="img" aria-label="每日评价数"><polyline fill="none" stroke="#1d5fbf" stroke-width="2" points="' + pts + '"/></svg>';
    return span;
  }

  function levelsBar(g) {
    var bar = el("div", { class: "levels", title: Object.keys(g.levels).map(function (k) { return k + " " + g.levels[k]; }).join("，") });
    opts.levels.forEach(function (lv, i) {
      var n = g.levels[lv.label] || 0;
      if (n) bar.append(el("i", { style: "width:" + (n / g.count * 100).toFixed(1) + "%;background:" + COLORS[i] }));
    });
    return bar;
  }

  function renderRatings(f, page) {
    var t = $("tiles"); t.innerHTML = "";
    t.append(tile(f.total, "评价数"), tile(f.mean_score == null ? "—" : f.mean_score.toFixed(2), "平均分（5 分制）"),
      tile(pct(f.satisfied_rate), "满意率（基本满意及以上）", f.satisfied_rate != null && f.satisfied_rate < 0.8 ? "bad" : "ok"),
      tile(page.total, "工单"), tile(page.overdue, "首次回复超时", page.overdue ? "bad" : "ok"),
      tile((page.counts["办结"] || 0) + (page.counts["回访"] || 0), "已办结"));
    $("ratingRange").textContent = "近 " + f.days.length + " 天";
    var s = $("byService"); s.innerHTML = "";
    f.by_service.forEach(function (g) {
      s.append(el("tr", {}, [el("td", {}, [g.title, el("div", { class: "muted", style: "font-size:12px", text: g.department || "" })]),
        el("td", {}, [levelsBar(g)]), el("td", { class: "num", text: String(g.count) }),
        el("td", { class: "num", text: pct(g.satisfied_rate) }), el("td", {}, [spark(g.trend)])]));
    });
    if (!f.by_service.length) s.append(el("tr", {}, [el("td", { colspan: "5", class: "empty", text: "暂无评价" })]));
    var d = $("byDepartment"); d.innerHTML = "";
    f.by_department.forEach(function (g) {
      d.append(el("tr", {}, [el("td", { text: g.title }), el("td", { class: "num", text: String(g.count) }),
        el("td", { class: "num", text: String(g.bad) }), el("td", { class: "num", text: pct(g.satisfied_rate) }), el("td", {}, [spark(g.trend)])]));
    });
    if (!f.by_department.length) d.append(el("tr", {}, [el("td", { colspan: "5", class: "empty", text: "暂无评价" })]));
    var r = $("reasons"); r.innerHTML = "";
    f.bad_reasons.forEach(function (x) { r.append(el("span", { class: "badge bad", style: "margin:0 6px 6px 0", text: x.reason + " " + x.count })); });
    if (!f.bad_reasons.length) r.append(el("div", { class: "empty", text: "暂无差评" }));
  }

  function query() {
    var q = new URLSearchParams();
    if ($("fStatus").value) q.set("status", $("fStatus").value);
    if ($("fKind").value) q.set("kind", $("fKind").value);
    if ($("fService").value.trim()) q.set("service", $("fService").value.trim());
    if ($("fOverdue").checked) q.set("overdue", "true");
    return q;
  }

  function detail(t) {
    var assignee = el("input", { placeholder: "承办人（分派时必填）", maxlength: "64", "aria-label": "承办人", value: t.assignee || "" });
    var note = el("input", { placeholder: "处理说明（可选，会脱敏保存）", maxlength: "1000", "aria-label": "处理说明", style: "flex:1;min-width:180px" });
    var buttons = t.next_states.map(function (s) {
      return el("button", { class: "btn small primary", type: "button", text: s.id === t.status ? "改派" : "转为「" + s.label + "」", "data-to": s.id,
        onclick: function () { move(t.ticket_no, s.id, assignee.value.trim(), note.value.trim()); } });
    });
    var rows = [["诉求内容", t.description], ["要点", t.points.join("\n") || "—"], ["渠道", t.channel],
      ["联系电话", t.contact || "未留（或未同意）"], ["受理时间", when(t.created_at)], ["首次回复", when(t.first_response_at) + (t.late ? "（超时回复）" : "")],
      ["办结时间", when(t.closed_at)]];
    var dl = el("dl");
    rows.forEach(function (r) { dl.append(el("dt", { text: r[0] }), el("dd", { text: r[1] })); });
    var ol = el("ol");
    t.events.forEach(function (e) { ol.append(el("li", { text: when(e.at) + " " + e.label + (e.assignee ? " → " + e.assignee : "") + (e.note ? "：" + e.note : "") + "（" + e.actor + "）" })); });
    return el("div", { class: "detail" }, [dl, el("div", { class: "muted", style: "font-size:12px", text: "处理记录" }), ol,
      t.next_states.length ? el("div", { class: "move" }, [assignee, note].concat(buttons)) : el("p", { class: "muted", text: "工单已结束（已回访）" })]);
  }

  function renderTickets(page) {
    $("overdueCount").textContent = page.overdue + " 超时";
    var body = $("tickets"); body.innerHTML = "";
    page.items.forEach(function (t) {
      var state = el("span", { class: "badge " + (t.overdue ? "bad" : t.status === "revisited" || t.status === "closed" ? "ok" : ""), text: t.status_label + (t.overdue ? " · 超时" : "") });
      var tr = el("tr", { class: "ticket" + (t.overdue ? " overdue" : "") + (openNo === t.ticket_no ? " open" : ""), "data-ticket": t.ticket_no, tabindex: "0",
        onclick: function () { openNo = openNo === t.ticket_no ? null : t.ticket_no; renderTickets(page); },
        onkeydown: function (e) { if (e.key === "Enter") this.click(); } },
        [el("td", { style: "font-family:ui-monospace,monospace;font-size:12px", text: t.ticket_no }), el("td", { text: t.kind_label }),
          el("td", {}, [t.service_title || "—", el("div", { class: "muted", style: "font-size:12px", text: t.department || "" })]),
          el("td", {}, [state]), el("td", { text: t.assignee || "—" }), el("td", { text: when(t.due_at) })]);
      body.append(tr);
      if (openNo === t.ticket_no) body.append(el("tr", {}, [el("td", { colspan: "6" }, [detail(t)])]));
    });
    if (!page.items.length) body.append(el("tr", {}, [el("td", { colspan: "6", class: "empty", text: "没有符合条件的工单" })]));
    $("ticketTotal").textContent = "共 " + page.total + " 件" + (page.total > page.items.length ? "，显示最新 " + page.items.length + " 件" : "");
  }

  function move(no, to, assignee, note) {
    var body = { to: to };
    if (assignee) body.assignee = assignee;
    if (note) body.note = note;
    daoban.api("/v1/admin/tickets/" + encodeURIComponent(no) + "/transitions", { body: body })
      .then(function (t) { daoban.toast("工单 " + t.ticket_no + " 已转为「" + t.status_label + "」"); load(); })
      .catch(function (err) { daoban.toast(err.message); });
  }

  function fillFilters() {
    opts.ticket_states.forEach(function (s) { $("fStatus").append(el("option", { value: s.id, text: s.label })); });
    opts.ticket_kinds.forEach(function (k) { $("fKind").append(el("option", { value: k.id, text: k.label })); });
  }

  function load() {
    var ready = opts ? Promise.resolve() : fetch("/v1/ratings/options").then(function (r) { return r.json(); }).then(function (o) { opts = o; fillFilters(); });
    // one call after the other: a first call asks for the key once, the second finds it
    var figures;
    return ready.then(function () { return daoban.api("/v1/admin/ratings?days=30"); })
      .then(function (f) { figures = f; return daoban.api("/v1/admin/tickets?limit=100&" + query()); })
      .then(function (page) { renderRatings(figures, page); renderTickets(page); })
      .catch(function (err) { daoban.toast(err.message); });
  }

  // CSV through fetch: the key goes in a header, never in a link a browser could keep in its history.
  $("export").addEventListener("click", function () {
    var q = query();
    if ($("withContact").checked) q.set("contact", "true");
    var key = sessionStorage.getItem("daoban.apikey") || "";
    fetch("/v1/admin/tickets/export.csv?" + q, { headers: { "X-API-Key": key } }).then(function (r) {
      if (!r.ok) throw new Error("导出失败（" + r.status + "）");
      return r.blob();
    }).then(function (blob) {
      var a = el("a", { href: URL.createObjectURL(blob), download: "tickets.csv" });
      document.body.append(a); a.click(); a.remove();
    }).catch(function (err) { daoban.toast(err.message); });
  });
  $("filters").addEventListener("submit", function (e) { e.preventDefault(); load(); });
  $("refresh").addEventListener("click", load);
  document.addEventListener("DOMContentLoaded", load);
})();
