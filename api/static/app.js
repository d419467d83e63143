"use strict";
// yusuan web app: ask, browse records, evidence viewer, upload, audit issues. Every text goes through textContent
// (the h() builder), never innerHTML, so document text cannot inject markup.

const EXAMPLES = ["哪个部门三公经费最高", "绍兴市委组织部2022年三公经费比上年增加多少", "各部门项目支出分别是多少",
  "山海关区委组织部和绍兴市委组织部三公经费谁高", "满意度指标≥95%的项目有哪些", "市委组织部有多少个项目"];
const MAX_QUESTION = 500;
const PAGE_SIZE = 50;
const MAX_BARS = 25;
const KIND_NAMES = {budget_total: "收支总表", function_line: "功能分类科目", econ_line: "经济分类科目", sangong: "三公经费",
  project: "项目", indicator: "绩效指标", fact: "文字中的数字"};
const COLUMN_NAMES = {record_id: "记录", doc_id: "文档", table_kind: "表", table_title: "表标题", unit_name: "单位", measure: "口径",
  name: "名称", code: "编码", level: "级次", parent_code: "上级编码", total: "合计", basic: "基本支出", personnel: "人员经费",
  public: "公用经费", project: "项目", other: "其他列", side: "收/支", amount: "金额", breakdown: "其他列", overseas: "因公出国(境)",
  vehicle_total: "公务用车", vehicle_purchase: "车辆购置", vehicle_operation: "车辆运行", reception: "公务接待", funding: "资金来源",
  category: "一级项目", half_year_plan: "半年计划", level1: "一级指标", level2: "二级指标", level3: "三级指标", operator: "符号",
  value: "值", value_num: "数值", value_unit: "单位", weight: "权重", period: "期间", description: "说明", raw_value: "原文",
  subject: "主题", metric: "度量", prior: "上年", change: "增减", change_pct: "增减%", reason: "原因", sentence: "原句",
  page: "页", line: "行", checks_failed: "未通过校验", failed_checks: "未通过的校验", source: "来源", kind: "类别",
  department: "部门", region: "地区", level_doc: "级别", year: "年度", doc_kind: "类型", layout: "格式", pages: "页数",
  records: "记录数", failed: "未通过校验的记录", coverage: "标准表"};
const HIDDEN_RECORD_COLUMNS = new Set(["doc_id", "kind", "source", "record_id"]);
const JOB_STEPS = [["queued", "排队"], ["reading", "提取"], ["stored", "入库"], ["indexed", "检索索引"]];

const $ = (id) => document.getElementById(id);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
const fileName = (path) => String(path || "").split(/[\\/]/).pop();
const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const fmtNum = (v, digits = 4) => isNum(v) ? v.toLocaleString("zh-CN", {maximumFractionDigits: digits}) : (v ?? "");

// ------------------------------------------------------------------------------------------------ errors in Chinese
const ENGLISH_ERRORS = [
  [/file too large/i, "文件太大（每个不超过 50 MB）"], [/empty file/i, "文件是空的"], [/unknown job/i, "找不到这个上传任务（服务可能已重启）"],
  [/unknown document/i, "找不到这份文档"], [/unknown record kind/i, "没有这一类记录"], [/unknown record/i, "找不到这条记录"],
  [/source file .* is gone/i, "原文件已不在服务器上，无法显示原页面"], [/changed since extraction/i, "原文件在提取后被改动，无法对应原页面"],
  [/search index unavailable/i, "全文检索索引尚未建立（请先运行 yusuan index）"], [/not a budget disclosure/i, "不是预算/决算公开文件"],
  [/cannot sort by/i, "不能按这一列排序"], [/out of range/i, "页码超出范围"], [/internal error/i, "服务器内部错误"],
];
function chineseError(status, message) {
  const text = String(message || "");
  for (const [pattern, zh] of ENGLISH_ERRORS) if (pattern.test(text)) return zh;
  if (status === 422) return "请求参数不正确";
  if (status === 404) return "找不到请求的内容";
  if (status === 413) return "文件太大";
  if (status === 503) return "服务暂不可用";
  if (status >= 500) return "服务器内部错误（" + status + "）";
  return text || ("请求失败（" + status + "）");
}
class ApiError extends Error { constructor(status, message) { super(chineseError(status, message)); this.status = status; this.raw = message; } }
async function api(url, options) {
  let response;
  try { response = await fetch(url, options); } catch (err) { throw new ApiError(0, "无法连接服务器，请检查服务是否在运行"); }
  let body = null;
  try { body = await response.json(); } catch (err) { body = null; }
  if (!response.ok) throw new ApiError(response.status, body && body.error);
  return body;
}

// ------------------------------------------------------------------------------------------------ views
function showView(name) {
  const view = ["ask", "browse", "upload"].includes(name) ? name : "ask";
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== "view-" + view;
  for (const link of document.querySelectorAll("header nav a[data-view]")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  if (view === "browse" && !browse.loaded) { browse.loaded = true; loadDocuments(); loadRecords(); }
}
window.addEventListener("hashchange", () => showView(location.hash.slice(1)));

// ------------------------------------------------------------------------------------------------ ask
function clearAnswer() {
  $("answer").replaceChildren(); $("answer").className = "muted"; delete $("answer").dataset.done;
  $("answer-rows").replaceChildren(); $("nc").replaceChildren();
  $("plan-box").hidden = true; $("sql").textContent = "";
  $("chart").replaceChildren(); $("chart").setAttribute("height", "0"); $("chart-card").hidden = true; $("chart-title").textContent = "";
  document.querySelector("#evidence tbody").replaceChildren();
  $("search").replaceChildren("—"); $("search").className = "muted";
}

function evidenceButton(label, ref) {
  return h("button", {type: "button", class: "val", title: "查看原文出处", onclick: () => openEvidence(ref)}, label);
}

let askRequest = 0;
async function ask() {
  const q = $("q").value.trim();
  clearAnswer();
  if (!q) { showAskError("请输入问题。"); return; }
  if (q.length > MAX_QUESTION) { showAskError(`问题太长（${q.length} 字），请控制在 ${MAX_QUESTION} 字以内。`); return; }
  $("answer").textContent = "查询中…";
  $("go").disabled = true;
  const request = ++askRequest;
  try {
    const a = await api("/ask?q=" + encodeURIComponent(q));
    if (request !== askRequest) return;  // a newer question owns the page
    renderAnswer(a);
  } catch (err) {
    if (request !== askRequest) return;
    showAskError("提问失败：" + err.message);
  } finally {
    $("go").disabled = false;
  }
  search(q);
}
function showAskError(message) {
  $("answer").replaceChildren(h("span", {class: "error", role: "alert"}, message));
  $("answer").className = ""; $("answer").dataset.done = "1";
}

function renderAnswer(a) {
  const nc = a.not_covered || [], ncTotal = a.not_covered_total || nc.length;
  let text = a.answer || "";
  let ncLead = "";
  const cut = ncTotal ? text.indexOf("以下" + ncTotal + "份文档没有") : -1;
  if (cut >= 0) { ncLead = text.slice(cut).split("：")[0] + "："; text = text.slice(0, cut); }
  $("answer").replaceChildren(answerText(text, a));
  $("answer").className = a.no_data ? "warn" : "";
  if (a.clarify && (a.candidates || []).length) {
    $("answer-rows").append(h("div", {class: "chips"}, a.candidates.map((c) =>
      h("button", {type: "button", class: "ex", onclick: () => { $("q").value = c; ask(); }}, c))));
  }
  const passages = (a.rows || []).filter((r) => r.text && !isNum(r.value));
  if (passages.length) $("answer-rows").append(renderPassages(passages));
  if (ncTotal) {
    $("nc").append(ncLead || `以下${ncTotal}份文档没有此项数据（不计为0）：`,
      h("span", {class: "chips"}, nc.map((d) => h("span", {class: "chip", title: d.source || ""}, `${d.department || ""} ${d.year || ""}年 ${fileName(d.source)}`))),
      ncTotal > nc.length ? ` 等（共${ncTotal}份）` : "");
  }
  if (a.plan || (a.sql || []).length) {
    $("plan-box").hidden = false;
    $("sql").textContent = (a.sql || []).join(";\n\n") + (a.plan ? "\n\n-- 查询计划\n" + JSON.stringify(a.plan, null, 2) : "");
  }
  renderEvidenceTable(a);
  drawChart(a);
  $("answer").dataset.done = "1";
}

// the answer sentence with its figures clickable when an evidence item printed that figure
function answerText(text, a) {
  const span = h("span", {});
  const evidence = (a.evidence || []).filter((e) => e.record_id);
  if (!evidence.length || !isNum(a.value)) { span.textContent = text; return span; }
  const shown = a.value.toFixed(2);
  const at = text.indexOf(shown);
  if (at < 0) { span.textContent = text; return span; }
  const best = evidence.find((e) => (a.rows || []).some((r) => r.record_id === e.record_id && r.value === a.value)) || evidence[0];
  span.append(text.slice(0, at), evidenceButton(shown, {record_id: best.record_id, raw: best.raw}), text.slice(at + shown.length));
  return span;
}

function renderPassages(rows) {
  return h("div", {class: "passages"}, rows.map((r) => h("div", {class: "passage"},
    String(r.text).slice(0, 400),
    h("div", {class: "muted"}, fileName(r.source), r.page ? ` 第${r.page}页` : "", (r.line || r.line_start) ? ` 第${r.line || r.line_start}行 ` : " ",
      r.doc_id ? evidenceButton("查看原文", {doc_id: r.doc_id, page: r.page, line: r.line || r.line_start}) : ""))));
}

function renderEvidenceTable(a) {
  const body = document.querySelector("#evidence tbody");
  for (const e of a.evidence || []) {
    const where = (e.page ? "第" + e.page + "页 " : "") + (e.line ? "第" + e.line + "行" : "");
    const docId = e.record_id ? e.record_id.split(":")[0] : null;
    const ref = e.record_id ? {record_id: e.record_id, raw: e.raw} : (docId ? {doc_id: docId, page: e.page, line: e.line} : null);
    body.append(h("tr", {}, h("td", {title: e.source || ""}, fileName(e.source), e.department ? h("div", {class: "muted"}, `${e.department} ${e.year || ""}`) : ""),
      h("td", {}, where), h("td", {}, String(e.raw || "").slice(0, 300)),
      h("td", {}, ref ? evidenceButton("查看原文", ref) : "")));
  }
}

// ------------------------------------------------------------------------------------------------ charts (SVG)
const LABEL_KEYS = ["department", "year", "unit_name", "project", "name", "level3", "subject", "measure", "table_kind"];
const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}
function chartRows(a) {
  const rows = (a.rows || []).filter((r) => isNum(r.value));
  const seen = new Set();
  return rows.filter((r) => {  // one bar per printed figure: the same record read twice is one fact
    const key = (r.record_id || "") + "|" + LABEL_KEYS.map((k) => r[k]).join("|") + "|" + r.value;
    if (seen.has(key)) return false;
    seen.add(key); return true;
  });
}
function varying(rows, keys) {
  return keys.filter((k) => new Set(rows.map((r) => r[k] ?? "")).size > 1);
}
function drawChart(a) {
  const rows = chartRows(a);
  const values = new Set(rows.map((r) => r.value));
  if (!rows.length || (rows.length > 1 && values.size === 1)) return;  // one repeated number says nothing as a chart
  const labelKeys = varying(rows, LABEL_KEYS);
  const seriesKeys = labelKeys.filter((k) => k !== "year");
  const groups = new Map();
  for (const r of rows) {
    const key = seriesKeys.map((k) => r[k] ?? "").join(" ");
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(r);
  }
  const years = new Set(rows.map((r) => r.year).filter(isNum));
  const overYears = years.size >= 2 && groups.size <= 6 && [...groups.values()].every((g) => new Set(g.map((r) => r.year)).size === g.length && g.length >= 2);
  $("chart-card").hidden = false;
  if (overYears) drawLines(groups, [...years].sort(), a.unit); else drawBars(rows, labelKeys.length ? labelKeys : ["department", "year"], a.unit);
}
function rowLabel(r, keys) {
  return keys.map((k) => k === "year" && r.year ? r.year + "年" : (r[k] ?? "")).filter((s) => s !== "").join(" ") || "（无名称）";
}
function rowRef(r) { return r.record_id ? {record_id: r.record_id, raw: r.raw} : null; }
function drawBars(rows, keys, unit) {
  const el = $("chart");
  const shown = rows.slice(0, MAX_BARS);
  const W = el.clientWidth || 600, bh = 22, gap = 8;
  const left = Math.min(Math.max(120, W * 0.38), 300), right = 110;
  const H = shown.length * (bh + gap) + 8;
  el.setAttribute("height", H); el.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const max = Math.max(...shown.map((r) => Math.abs(r.value))) || 1;
  const maxChars = Math.floor((left - 8) / 12);
  $("chart-title").textContent = "条形图" + (unit ? `（${unit}）` : "") + (rows.length > shown.length ? `：前${shown.length}项，共${rows.length}项` : "") + "；点击条形查看出处";
  shown.forEach((r, i) => {
    const y = 4 + i * (bh + gap), w = Math.max(2, (W - left - right) * Math.abs(r.value) / max);
    const label = rowLabel(r, keys);
    const g = svg("g", {class: "bar-group", tabindex: rowRef(r) ? 0 : -1, role: rowRef(r) ? "button" : "img"});
    g.append(svg("title", {}, `${label}：${fmtNum(r.value)} ${unit || ""}`));
    g.append(svg("text", {x: 4, y: y + 15, "font-size": 12}, label.length > maxChars ? label.slice(0, maxChars - 1) + "…" : label));
    g.append(svg("rect", {x: left, y, width: w, height: bh, fill: r.value < 0 ? "#c0504d" : "#2e75b6", class: "bar"}));
    g.append(svg("text", {x: left + w + 6, y: y + 15, "font-size": 12}, `${fmtNum(r.value, 2)} ${unit || ""}`));
    const ref = rowRef(r);
    if (ref) {
      g.style.cursor = "pointer";
      g.addEventListener("click", () => openEvidence(ref));
      g.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); openEvidence(ref); } });
    }
    el.append(g);
  });
}
function drawLines(groups, years, unit) {
  const el = $("chart");
  const W = el.clientWidth || 600, H = 260, pad = {l: 70, r: 70, t: 24, b: 50};
  el.setAttribute("height", H); el.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const all = [...groups.values()].flat().map((r) => r.value);
  // the axis spans the values (with a margin), not 0…max: a change of a few percent must be visible
  const span = (Math.max(...all) - Math.min(...all)) || Math.abs(Math.max(...all)) * 0.1 || 1;
  const lo = Math.min(...all) - span * 0.2, hi = Math.max(...all) + span * 0.2;
  const x = (year) => pad.l + (years.length === 1 ? 0 : (years.indexOf(year) / (years.length - 1)) * (W - pad.l - pad.r));
  const y = (v) => pad.t + (1 - (v - lo) / (hi - lo || 1)) * (H - pad.t - pad.b);
  $("chart-title").textContent = "折线图：按年度" + (unit ? `（${unit}）` : "") + "；点击圆点查看出处";
  el.append(svg("line", {x1: pad.l, y1: y(lo), x2: W - pad.r, y2: y(lo), stroke: "#999"}));
  el.append(svg("text", {x: 4, y: y(hi) + 4, "font-size": 11}, fmtNum(hi, 2)));
  el.append(svg("text", {x: 4, y: y(lo) + 4, "font-size": 11}, fmtNum(lo, 2)));
  for (const year of years) el.append(svg("text", {x: x(year) - 14, y: H - pad.b + 18, "font-size": 12}, year + "年"));
  const colors = ["#2e75b6", "#c0504d", "#9bbb59", "#8064a2", "#f79646", "#4bacc6"];
  [...groups.entries()].forEach(([name, rows], i) => {
    const sorted = rows.slice().sort((p, q) => p.year - q.year);
    el.append(svg("polyline", {points: sorted.map((r) => `${x(r.year)},${y(r.value)}`).join(" "), fill: "none", stroke: colors[i % colors.length], "stroke-width": 2, class: "series"}));
    for (const r of sorted) {
      const dot = svg("circle", {cx: x(r.year), cy: y(r.value), r: 5, fill: colors[i % colors.length], class: "point", tabindex: 0, role: "button"});
      dot.append(svg("title", {}, `${name} ${r.year}年：${fmtNum(r.value)} ${unit || ""}`));
      el.append(dot, svg("text", {x: x(r.year) + 7, y: y(r.value) - 7, "font-size": 11}, fmtNum(r.value, 2)));
      const ref = rowRef(r);
      if (ref) {
        dot.addEventListener("click", () => openEvidence(ref));
        dot.addEventListener("keydown", (ev) => { if (ev.key === "Enter") openEvidence(ref); });
      }
    }
    if (name) el.append(svg("text", {x: pad.l + i * 160, y: H - 8, "font-size": 12, fill: colors[i % colors.length]}, "● " + name.slice(0, 14)));
  });
}

async function search(q) {
  try {
    const s = await api("/search?q=" + encodeURIComponent(q) + "&k=5");
    const results = s.results || [];
    $("search").className = "";
    $("search").replaceChildren(results.length ? renderPassages(results) : h("span", {class: "muted"}, "没有检索到相关段落"));
  } catch (err) {
    $("search").className = "muted";
    $("search").replaceChildren("全文检索不可用：" + err.message);
  }
}

// ------------------------------------------------------------------------------------------------ evidence viewer
const viewer = {data: null, page: null, request: 0};
async function openEvidence(ref) {
  viewer.data = null;
  const request = ++viewer.request;
  const dialog = $("viewer");
  $("viewer-title").textContent = "原文（加载中…）";
  $("viewer-page").replaceChildren(); $("viewer-side").replaceChildren(); $("page-label").textContent = "";
  if (!dialog.open) dialog.showModal();
  try {
    let url;
    if (ref.record_id) {
      url = "/evidence/record/" + encodeURIComponent(ref.record_id) + "?" + new URLSearchParams(Object.entries({field: ref.field, raw: ref.raw}).filter(([, v]) => v));
    } else {
      const params = {page: ref.page, line: ref.line};
      if (ref.bbox) Object.assign(params, {x0: ref.bbox[0], top: ref.bbox[1], x1: ref.bbox[2], bottom: ref.bbox[3]});
      url = "/evidence/document/" + encodeURIComponent(ref.doc_id) + "?" + new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined));
    }
    const data = await api(url);
    if (request !== viewer.request) return;
    viewer.data = data; viewer.page = data.cell.page;
    renderViewer();
  } catch (err) {
    if (request !== viewer.request) return;
    $("viewer-title").textContent = "原文";
    $("viewer-page").replaceChildren(h("p", {class: "error", role: "alert"}, "无法显示原文：" + err.message));
  }
}
function renderViewer() {
  const data = viewer.data, doc = data.document, cell = data.cell;
  $("viewer-title").textContent = `${doc.department || ""} ${doc.year || ""} — ${doc.name}`;
  const pdf = data.pdf;
  const pageCount = pdf && pdf.page_count ? pdf.page_count : null;
  $("page-prev").hidden = $("page-next").hidden = !pageCount;
  $("page-prev").disabled = !pageCount || viewer.page <= 1;
  $("page-next").disabled = !pageCount || viewer.page >= pageCount;
  $("page-label").textContent = pageCount ? `第 ${viewer.page} / ${pageCount} 页` : (cell.line ? `第 ${cell.line} 行` : "");
  const page = $("viewer-page");
  page.replaceChildren();
  if (doc.is_pdf && pdf && pdf.available) {
    const wrap = h("div", {class: "page-wrap"});
    const img = h("img", {id: "page-img", style: `aspect-ratio:${pdf.width}/${pdf.height}`, alt: `${doc.name} 第${viewer.page}页`, src: `/evidence/document/${encodeURIComponent(doc.doc_id)}/page/${viewer.page}.png?scale=2`});
    wrap.append(img);
    if (cell.bbox && viewer.page === cell.page) {
      const [x0, top, x1, bottom] = cell.bbox, pad = 2;
      wrap.append(h("div", {class: "bbox", id: "bbox", style:
        `left:${(x0 - pad) / pdf.width * 100}%;top:${(top - pad) / pdf.height * 100}%;width:${(x1 - x0 + 2 * pad) / pdf.width * 100}%;height:${(bottom - top + 2 * pad) / pdf.height * 100}%`}));
      img.addEventListener("load", () => scrollToBox(), {once: true});
    }
    page.append(wrap);
  } else if (doc.is_pdf) {
    page.append(h("p", {class: "error"}, "无法显示原页面：" + chineseError(404, pdf && pdf.reason)));
  } else if ((data.context || []).length) {
    page.append(h("div", {class: "context", id: "context"}, data.context.map((l) => h("div", {class: l.target ? "target" : ""},
      h("span", {class: "ln"}, l.line), l.target ? highlight(l.text, cell.raw) : l.text))));
  } else {
    page.append(h("p", {class: "muted"}, "这份文档没有可显示的行（表格或网页的单元格只有文字记录）。"));
  }
  const side = $("viewer-side");
  side.replaceChildren(h("h3", {}, "出处"), h("dl", {class: "kv"},
    kv("文件", doc.name), kv("部门", doc.department), kv("年度", doc.year), kv("页", cell.page), kv("行", cell.line),
    kv("字段", data.field ? (COLUMN_NAMES[data.field] || data.field) : null), kv("原文", cell.raw), kv("单位", cell.unit_original),
    kv("框内文字", pdf && pdf.text_in_box), kv("整行", data.row_raw), kv("表", data.record && data.record.table_title)));
  if ((data.checks || []).length) {
    side.append(h("h3", {}, "校验"), h("ul", {}, data.checks.map((c) => h("li", {class: c.status === "pass" ? "ok" : "bad"},
      `${c.status === "pass" ? "✓" : "✗"} ${c.name}`, c.detail ? h("div", {class: "muted"}, c.detail) : ""))));
  }
  if (data.values && Object.keys(data.values).length > 1 && data.record) {
    side.append(h("h3", {}, "本行其他数值"), h("div", {class: "chips"}, Object.entries(data.values).map(([field, v]) =>
      h("button", {type: "button", class: "val", onclick: () => openEvidence({record_id: data.record.record_id, field})}, `${COLUMN_NAMES[field] || field}：${v.raw}`))));
  }
}
// scroll the dialog (not the page behind it) so the box sits a third of the way down its view
function scrollToBox() {
  const box = $("bbox"), dialog = $("viewer");
  if (!box) return;
  dialog.scrollTop += box.getBoundingClientRect().top - dialog.getBoundingClientRect().top - dialog.clientHeight / 3;
}
function kv(label, value) { return value === null || value === undefined || value === "" ? [] : [h("dt", {}, label), h("dd", {}, String(value))]; }
function highlight(text, raw) {
  const needle = String(raw || "").trim();
  const at = needle ? text.indexOf(needle) : -1;
  if (at < 0) return text;
  return [text.slice(0, at), h("mark", {}, needle), text.slice(at + needle.length)];
}
function turnPage(step) { viewer.page += step; renderViewer(); }
$("page-prev").addEventListener("click", () => turnPage(-1));
$("page-next").addEventListener("click", () => turnPage(1));
$("viewer-close").addEventListener("click", () => $("viewer").close());

// ------------------------------------------------------------------------------------------------ browse
const browse = {loaded: false, docsOffset: 0, docsSort: "source", docsDesc: false, docId: null, doc: null, recOffset: 0, recSort: null, recDesc: false,
  docsRequest: 0, recRequest: 0};

function sortHeader(label, key, state, onSort) {
  const active = state.sort === key;
  return h("th", {"aria-sort": active ? (state.desc ? "descending" : "ascending") : "none"},
    h("button", {type: "button", onclick: () => onSort(key)}, label, active ? (state.desc ? " ▼" : " ▲") : ""));
}
function pager(el, total, offset, onPage) {
  const pageNo = Math.floor(offset / PAGE_SIZE) + 1, pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  el.replaceChildren(
    h("button", {type: "button", class: "prev", disabled: offset <= 0, onclick: () => onPage(offset - PAGE_SIZE)}, "上一页"),
    h("span", {}, `第 ${pageNo} / ${pages} 页，共 ${total} 条`),
    h("button", {type: "button", class: "next", disabled: offset + PAGE_SIZE >= total, onclick: () => onPage(offset + PAGE_SIZE)}, "下一页"));
}

async function loadDocuments() {
  const params = new URLSearchParams({limit: PAGE_SIZE, offset: browse.docsOffset, sort: browse.docsSort, desc: browse.docsDesc});
  const q = $("docs-q").value.trim();
  if (q) params.set("q", q);
  const table = $("docs-table");
  const request = ++browse.docsRequest;
  try {
    const data = await api("/browse/documents?" + params);
    if (request !== browse.docsRequest) return;
    const state = {sort: browse.docsSort, desc: browse.docsDesc};
    const onSort = (key) => { browse.docsDesc = browse.docsSort === key ? !browse.docsDesc : false; browse.docsSort = key; loadDocuments(); };
    table.tHead.replaceChildren(h("tr", {}, sortHeader("文件", "source", state, onSort), sortHeader("部门", "department", state, onSort),
      sortHeader("年度", "year", state, onSort), sortHeader("类型", "doc_kind", state, onSort), h("th", {}, "标准表"),
      sortHeader("记录数", "records", state, onSort), sortHeader("未通过校验", "failed", state, onSort)));
    table.tBodies[0].replaceChildren(...data.documents.map((d) => {
      const cov = d.coverage || {};
      const found = (cov.found || []).length, expected = found + (cov.missing || []).length;
      return h("tr", {},
        h("td", {}, h("button", {type: "button", class: "val", title: d.source, onclick: () => selectDocument(d)}, d.name)),
        h("td", {}, d.department || "—"), h("td", {}, d.year ?? "—"), h("td", {}, d.doc_kind || "—"),
        h("td", {class: (cov.missing || []).length ? "warn" : "ok", title: (cov.missing || []).length ? "缺：" + cov.missing.join("、") : "齐全"},
          expected ? `${found}/${expected}` : "—", (cov.missing || []).length ? h("div", {class: "muted"}, "缺 " + cov.missing.join("、")) : ""),
        h("td", {class: "num"}, d.records), h("td", {class: "num " + (d.failed ? "bad" : "ok")}, d.failed ? d.failed : "✓"));
    }));
    pager($("docs-pager"), data.total, data.offset, (offset) => { browse.docsOffset = offset; loadDocuments(); });
  } catch (err) {
    if (request !== browse.docsRequest) return;
    table.tBodies[0].replaceChildren(h("tr", {}, h("td", {class: "error"}, "文档列表加载失败：" + err.message)));
  }
}
$("docs-form").addEventListener("submit", (ev) => { ev.preventDefault(); browse.docsOffset = 0; loadDocuments(); });

function selectDocument(doc) {
  browse.docId = doc.doc_id; browse.doc = doc; browse.recOffset = 0;
  $("doc-card").hidden = false;
  $("doc-title").textContent = `${doc.department || "（未识别部门）"} ${doc.year || ""} ${doc.doc_kind || ""} — ${doc.name}`;
  const cov = doc.coverage || {};
  $("doc-coverage").replaceChildren(
    h("div", {}, `标准表（${cov.standard || "—"}）：`, h("span", {class: "chips"},
      (cov.found || []).map((t) => h("span", {class: "chip"}, "✓ " + t)), (cov.missing || []).map((t) => h("span", {class: "chip missing"}, "✗ 缺 " + t)))),
    (cov.other || []).length ? h("div", {class: "muted"}, "其他表：" + cov.other.join("、")) : "",
    h("div", {class: "muted"}, `${doc.records} 条记录，${doc.failed} 条有未通过的校验；${doc.pages || 1} 页，格式 ${doc.layout || "—"}`));
  $("audit").replaceChildren();
  loadRecords();
  $("doc-card").scrollIntoView({block: "start"});
}
$("doc-clear").addEventListener("click", () => { browse.docId = null; browse.doc = null; $("doc-card").hidden = true; browse.recOffset = 0; loadRecords(); });

function recordParams() {
  const params = new URLSearchParams();
  if (browse.docId) params.set("doc_id", browse.docId);
  for (const [key, id] of [["table_kind", "rec-table"], ["year", "rec-year"], ["q", "rec-q"], ["failed", "rec-failed"]]) {
    const v = $(id).value.trim();
    if (v) params.set(key, v);
  }
  if (browse.recSort) { params.set("sort", browse.recSort); params.set("desc", browse.recDesc); }
  return params;
}
async function loadRecords() {
  const kind = $("kind").value;
  const params = recordParams();
  for (const format of ["csv", "parquet"]) {
    const download = new URLSearchParams(params); download.set("format", format);
    $("dl-" + format).href = `/browse/records/${kind}?${download}`;
    $("dl-" + format).setAttribute("download", `${kind}.${format}`);
  }
  params.set("limit", PAGE_SIZE); params.set("offset", browse.recOffset);
  const table = $("records-table");
  $("rec-info").textContent = "加载中…";
  const request = ++browse.recRequest;
  try {
    const data = await api(`/browse/records/${kind}?${params}`);
    if (request !== browse.recRequest) return;  // a later filter, sort or page is already on its way
    const columns = data.columns.filter((c) => !HIDDEN_RECORD_COLUMNS.has(c));
    const state = {sort: browse.recSort, desc: browse.recDesc};
    const onSort = (key) => { browse.recDesc = browse.recSort === key ? !browse.recDesc : false; browse.recSort = key; browse.recOffset = 0; loadRecords(); };
    table.tHead.replaceChildren(h("tr", {}, columns.map((c) => sortHeader(COLUMN_NAMES[c] || c, c, state, onSort)), h("th", {}, "出处")));
    table.tBodies[0].replaceChildren(...data.records.map((r) => h("tr", {},
      columns.map((c) => recordCell(r, c)),
      h("td", {}, evidenceButton("原文", {record_id: r.record_id})))));
    $("rec-info").textContent = `${KIND_NAMES[kind]}：共 ${data.total} 条` + (browse.doc ? `（${browse.doc.name}）` : "（全部文档）") + "。点击数字查看原文。";
    pager($("rec-pager"), data.total, data.offset, (offset) => { browse.recOffset = offset; loadRecords(); });
  } catch (err) {
    if (request !== browse.recRequest) return;
    $("rec-info").textContent = "";
    table.tBodies[0].replaceChildren(h("tr", {}, h("td", {class: "error"}, "记录加载失败：" + err.message)));
  }
}
function recordCell(r, column) {
  const v = r[column];
  if (column === "checks_failed") {
    return h("td", {class: "num " + (v ? "bad" : "ok"), title: (r.failed_checks || []).join("、")}, v ? `✗ ${v}` : "✓");
  }
  if (isNum(v) && r.value_fields.includes(column)) {
    return h("td", {class: "num"}, evidenceButton(fmtNum(v), {record_id: r.record_id, field: column}));
  }
  if (v === "{}" || v === "[]") return h("td", {});  // an empty map of further columns
  if (v !== null && typeof v === "object") return h("td", {}, JSON.stringify(v));
  return h("td", {class: isNum(v) ? "num" : ""}, v === null || v === undefined ? "" : (isNum(v) ? fmtNum(v) : String(v)));
}
$("rec-form").addEventListener("submit", (ev) => { ev.preventDefault(); browse.recOffset = 0; loadRecords(); });
$("kind").addEventListener("change", () => { browse.recOffset = 0; browse.recSort = null; loadRecords(); });

// ------------------------------------------------------------------------------------------------ audit issues
const SEVERITY = {error: "错误", warning: "警告", info: "提示"};
async function loadAudit() {
  const box = $("audit");
  box.replaceChildren(h("p", {class: "muted"}, "正在审核（重新读取原文件）…"));
  try {
    const data = await api(`/documents/${encodeURIComponent(browse.docId)}/issues`);
    box.replaceChildren(h("p", {}, data.count ? `发现 ${data.count} 个问题：` : "没有发现问题。"),
      ...data.issues.map((issue) => h("div", {class: "issue " + issue.severity},
        h("p", {}, h("b", {}, `[${SEVERITY[issue.severity] || issue.severity}] ${issue.rule_id} `), issue.message),
        issue.evidence ? h("p", {class: "muted"}, "原文：" + issue.evidence) : "",
        (issue.values || []).length ? h("p", {}, issue.values.map((v, i) => [i ? "；" : "", `${v.label}：`,
          v.page && v.bbox ? evidenceButton(String(v.raw || v.value), {doc_id: browse.docId, page: v.page, bbox: v.bbox}) : String(v.raw || (v.value ?? ""))])) : "",
        issue.suggestion ? h("p", {class: "muted"}, "建议：" + issue.suggestion) : "",
        issue.page ? h("p", {}, evidenceButton(`查看第${issue.page}页`, {doc_id: browse.docId, page: issue.page, bbox: issue.bbox})) : "")));
  } catch (err) {
    box.replaceChildren(h("p", {class: "error", role: "alert"}, "审核失败：" + err.message));
  }
}
$("audit-btn").addEventListener("click", loadAudit);

// ------------------------------------------------------------------------------------------------ upload
const STEP_OF_STATUS = {uploading: 0, queued: 0, reading: 1, running: 1};
const FAILED = new Set(["failed", "not_budget"]);
// done: stored; `indexed` false while the search index is being updated, absent when the server does not index uploads
const finished = (job) => job.status === "done" && job.indexed !== false;
function stepOf(job) { return job.status === "done" ? (job.indexed === false ? 3 : JOB_STEPS.length) : (STEP_OF_STATUS[job.status] ?? 0); }
function renderJob(item, job, problems) {
  const failed = FAILED.has(job.status);
  const reached = failed ? (item.reached ?? 0) : stepOf(job);
  if (!failed) item.reached = reached;
  item.el.replaceChildren(
    h("div", {}, h("b", {}, item.name), ` ${(item.size / 1024).toFixed(0)} KB`),
    h("div", {class: "steps", "aria-label": "进度"}, JOB_STEPS.map(([key, label], i) => h("span", {class: "step " + (failed && i === reached ? "failed" : i < reached ? "done" : i === reached ? "active" : ""), dataset: {step: key}}, label))),
    h("div", {class: "status", dataset: {status: job.status}}, statusText(job)),
    problems || "");
}
function statusText(job) {
  if (job.status === "uploading") return `上传中 ${job.percent ?? 0}%`;
  if (job.status === "queued") return "已上传，排队等待提取";
  if (job.status === "reading" || job.status === "running") return "正在提取表格和数字…";
  if (job.status === "done") {
    const stored = job.unchanged ? "同样内容已在库中" : `已入库：${job.department || "（未识别部门）"} ${job.year || ""}，${job.records ?? 0} 条记录`;
    return stored + (job.indexed === false ? "；正在更新全文检索索引…" : "");
  }
  if (FAILED.has(job.status)) return h("span", {class: "error", role: "alert"}, "失败：" + chineseError(0, job.error) + (job.error ? `（${job.error}）` : ""));
  return job.status;
}
function uploadOne(file) {
  const item = {name: file.name, size: file.size, el: h("li", {class: "upload"})};
  $("uploads").prepend(item.el);
  renderJob(item, {status: "uploading", percent: 0});
  const form = new FormData();
  form.append("file", file);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/documents");
  xhr.upload.addEventListener("progress", (ev) => { if (ev.lengthComputable) renderJob(item, {status: "uploading", percent: Math.round(ev.loaded / ev.total * 100)}); });
  xhr.addEventListener("error", () => renderJob(item, {status: "failed", error: "无法连接服务器"}));
  xhr.addEventListener("load", () => {
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
    if (xhr.status !== 202) { renderJob(item, {status: "failed", error: body.error || String(xhr.status)}); return; }
    renderJob(item, body);
    poll(item, body.status_url);
  });
  xhr.send(form);
}
async function poll(item, url) {
  let problems = null;  // read once the document is stored; indexing for search may go on after that
  for (;;) {
    let job;
    try { job = await api(url); } catch (err) { renderJob(item, {status: "failed", error: err.message}); return; }
    if (FAILED.has(job.status)) { renderJob(item, job); return; }
    if (job.status === "done" && !problems) { problems = await problemsOf(job); browse.loaded = false; }
    renderJob(item, job, problems);
    if (finished(job)) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
async function problemsOf(job) {
  const problems = [...(job.problems || job.warnings || [])].map(String);
  try {
    const data = await api("/browse/documents?" + new URLSearchParams({doc_id: job.doc_id, limit: 1}));
    const doc = data.documents[0];
    if (doc) {
      const missing = (doc.coverage && doc.coverage.missing) || [];
      if (missing.length) problems.push("缺少标准表：" + missing.join("、"));
      if (doc.failed) problems.push(`${doc.failed} 条记录的校验未通过`);
      if (!doc.records) problems.push("没有提取到任何记录");
      for (const warning of doc.warnings || []) problems.push(String(warning));
    }
  } catch (err) {
    problems.push("无法读取文档情况：" + err.message);
  }
  return problems.length ? h("ul", {class: "problems"}, problems.map((p) => h("li", {class: "warn"}, p))) : h("p", {class: "ok problems"}, "没有发现问题");
}
$("upload-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const files = [...$("file").files];
  if (!files.length) { $("uploads").prepend(h("li", {class: "error", role: "alert"}, "请先选择文件")); return; }
  files.forEach(uploadOne);
  $("file").value = "";
});

// ------------------------------------------------------------------------------------------------ start
for (const e of EXAMPLES) $("examples").append(h("button", {type: "button", class: "ex", onclick: () => { $("q").value = e; ask(); }}, e));
$("f").addEventListener("submit", (ev) => { ev.preventDefault(); ask(); });
for (const [kind, name] of Object.entries(KIND_NAMES)) $("kind").append(h("option", {value: kind}, name));
showView(location.hash.slice(1));
