/* 12345 console: a ticket from the call with its structured summary (诉求类型, 事项, 部门, 要点), and the caller's
   好差评 of the call. Follows the call through hotline.js's "hotline:turn" and "hotline:newcall" events. */
(function () {
  "use strict";
  var el = daoban.el, $ = function (id) { return document.getElementById(id); };
  var sessionId = null, draft = null, opts = null, level = null;

  function options() {
    if (opts) return Promise.resolve(opts);
    return fetch("/v1/ratings/options").then(function (r) { return r.json(); }).then(function (o) { opts = o; return o; });
  }

  function reset() {
    sessionId = null; draft = null; level = null;
    $("ticketForm").hidden = true; $("ticketDone").textContent = ""; $("ticketDraft").disabled = true;
    $("rComment").value = ""; $("rSubmit").disabled = true; renderLevels(); $("rReasons").innerHTML = "";
  }

  function renderLevels() {
    var box = $("rLevels"); box.innerHTML = "";
    (opts ? opts.levels : []).forEach(function (lv) {
      box.append(el("button", { class: "btn small", type: "button", text: lv.label, "data-level": lv.id, "aria-pressed": String(level === lv.id),
        onclick: function () { level = lv.id; renderLevels(); renderReasons(lv); $("rSubmit").disabled = !sessionId; } }));
    });
  }

  function renderReasons(lv) {
    var box = $("rReasons"); box.innerHTML = "";
    opts.reasons.filter(function (r) { return r.for === "any" || r.for === (lv.bad ? "bad" : "good"); }).forEach(function (r) {
      box.append(el("label", {}, [el("input", { type: "checkbox", value: r.id }), " " + r.label]));
    });
  }

  $("ticketDraft").addEventListener("click", function () {
    if (!sessionId) return;
    Promise.all([options(), daoban.api("/v1/hotline/sessions/" + encodeURIComponent(sessionId) + "/ticket-draft")]).then(function (res) {
      draft = res[1];
      var kind = $("tKind"); kind.innerHTML = "";
      res[0].ticket_kinds.filter(function (k) { return k.id !== "bad_rating"; }).forEach(function (k) {
        kind.append(el("option", { value: k.id, text: k.label, selected: k.id === draft.kind }));
      });
      $("tService").value = draft.service_title || "（未关联事项）";
      $("tDepartment").value = draft.department || "";
      $("tPoints").value = draft.points.join("\n");
      $("tContact").value = ""; $("tConsent").checked = false; $("tMsg").textContent = "";
      $("ticketForm").hidden = false; $("ticketDone").textContent = "";
      kind.focus();
    }).catch(function (err) { daoban.toast(err.message); });
  });

  $("ticketForm").addEventListener("submit", function (e) {
    e.preventDefault();
    var points = $("tPoints").value.split("\n").map(function (x) { return x.trim(); }).filter(Boolean).slice(0, 10);
    var body = { session_id: sessionId, kind: $("tKind").value, points: points, consent: $("tConsent").checked };
    if (draft && draft.service_id) body.service_id = draft.service_id;
    if ($("tDepartment").value.trim()) body.department = $("tDepartment").value.trim();
    if ($("tContact").value.trim()) body.contact = $("tContact").value.trim();
    $("tSubmit").disabled = true;
    daoban.api("/v1/hotline/tickets", { body: body }).then(function (t) {
      $("ticketForm").hidden = true;
      $("ticketDone").textContent = "已生成工单 " + t.ticket_no + "（" + t.kind_label + "，" + t.status_label + "），请告知来电人工单号。";
      daoban.copy(t.ticket_no, "工单号");
    }).catch(function (err) { $("tMsg").textContent = err.message; })
      .then(function () { $("tSubmit").disabled = false; });
  });

  $("rSubmit").addEventListener("click", function () {
    var reasons = Array.prototype.map.call($("rReasons").querySelectorAll("input:checked"), function (i) { return i.value; });
    var body = { session_id: sessionId, level: level, reasons: reasons };
    if ($("rComment").value.trim()) body.comment = $("rComment").value.trim();
    daoban.api("/v1/hotline/ratings", { body: body }).then(function (r) {
      daoban.toast("已记录评价：" + r.level_label + (r.ticket_no ? "，已生成整改工单 " + r.ticket_no : ""));
      $("rSubmit").disabled = true;
      if (r.ticket_no) $("ticketDone").textContent = "差评已生成整改工单 " + r.ticket_no;
    }).catch(function (err) { daoban.toast(err.message); });
  });

  document.addEventListener("hotline:turn", function (e) {
    sessionId = e.detail.reply.session_id;
    $("ticketDraft").disabled = false; $("rSubmit").disabled = !level;
  });
  document.addEventListener("hotline:newcall", reset);
  options().then(renderLevels);
})();
