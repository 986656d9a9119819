/* The demo host page: its scenario cards ask the widget. (Not inline: the page's CSP allows scripts from 'self' only.) */
document.getElementById("origin").textContent = location.origin;
fetch("/v1/scenarios").then(function (r) { return r.ok ? r.json() : []; }).then(function (list) {
  var grid = document.getElementById("scenarios");
  list.forEach(function (s) {
    var card = document.createElement("article");
    card.className = "card scenario";
    var h = document.createElement("h3"); h.textContent = s.title;
    var p = document.createElement("p"); p.textContent = s.summary;
    var meta = document.createElement("div"); meta.className = "meta";
    [s.stage, s.member_count + " 个事项", s.promised_days == null ? null : (s.promised_days === 0 ? "即办" : s.promised_days + " 个工作日")]
      .filter(Boolean).forEach(function (t) { var b = document.createElement("span"); b.className = "badge"; b.textContent = t; meta.appendChild(b); });
    var ask = document.createElement("button"); ask.className = "btn small"; ask.type = "button"; ask.textContent = "咨询";
    ask.addEventListener("click", function () { window.daobanWidget && window.daobanWidget.ask(s.title + "怎么办理"); });
    meta.appendChild(ask);
    card.append(h, p, meta); grid.appendChild(card);
  });
});
