"""A static HTML report of one period that opens from disk: no server, no network.

Charts are plotly figures; plotly.js is inlined once in the page's head (no CDN: none is
reachable from a provincial office's intranet), and every figure uses Vietnamese separators
(`separators=",."`: 1.234,5). Below the charts, the plan's tables as in the XLSX workbook: the
groups, plan against actual with the year-end estimate, by locality (with the unplaced share)
and, after the 2025 reform, the old districts beside the new units.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

from htx.exports.data import PeriodData
from htx.exports.labels import (HTX_SECTORS, UNPLACED_VI, date_vi, display, indicator_vi,
                                number_vi, period_vi)
from htx.exports.tables import (ACROSS_REFORM_NOTE, ACROSS_REFORM_TITLE, GROUP_TABLES,
                                LOCALITY_TITLE, PLAN_SHEET, SHARE_HEADER, across_reform_lines,
                                fill, locality_lines, plan_lines, plan_title, unplaced_shares)

# Function-local imports: plotly (seconds to import) only when a report is written.

TITLE = "Báo cáo tình hình phát triển kinh tế tập thể, hợp tác xã"
NO_DATA = "Chưa có số liệu cho kỳ này."
COLORS = {"actual": "#1f5f99", "target": "#b9c7d6", "equity": "#1f5f99", "deposits": "#5b9bd5",
          "other": "#c9d7e6", "loans": "#e07b39", "new": "#9cc3e6"}
CONFIG = {"displayModeBar": False, "responsive": True}  # a printed-report page: no toolbar

STYLE = """
body { font-family: "Segoe UI", Arial, "DejaVu Sans", sans-serif; color: #1c2733; margin: 0;
       background: #f4f6f9; }
header { background: #1f5f99; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 2px 0; }
main { padding: 16px 32px 40px; max-width: 1340px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 12px;
         margin: 8px 0 16px; }
.card { background: #fff; border-radius: 6px; padding: 10px 16px;
        box-shadow: 0 1px 2px rgba(0,0,0,.12); }
.card .figure { font-size: 26px; font-weight: 600; color: #1f5f99; }
.card .label { font-size: 13px; color: #4a5868; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
.chart { background: #fff; border-radius: 6px; box-shadow: 0 1px 2px rgba(0,0,0,.12);
         padding: 6px; min-height: 380px; }
.chart h2, section h2 { font-size: 16px; margin: 6px 10px; }
.empty { color: #6b7785; margin: 40px 10px; }
section.table { background: #fff; margin-top: 16px; padding: 8px 12px; border-radius: 6px;
                box-shadow: 0 1px 2px rgba(0,0,0,.12); }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { border: 1px solid #c6ced8; padding: 4px 8px; }
th { background: #e8eef5; }
td.stt, td.unit { text-align: center; white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.heading td { font-weight: 600; background: #f7f9fb; }
tr.sub td.label { font-style: italic; }
p.note { font-size: 13px; color: #4a5868; font-style: italic; margin: 6px 2px; }
footer { font-size: 12px; color: #5a6673; margin-top: 16px; }
"""


def write(data: PeriodData, path: Path) -> Path:
    from plotly.offline import get_plotlyjs

    charts = [("Hợp tác xã theo lĩnh vực hoạt động", _sectors(data), NO_DATA),
              ("Kế hoạch và thực hiện", _plan(data),
               f"Chưa có chỉ tiêu kế hoạch năm {data.end.year}."),
              ("Quỹ tín dụng nhân dân: nguồn vốn và dư nợ cho vay", _credit_funds(data),
               "Chưa có báo cáo quý của quỹ tín dụng nhân dân cho quý cuối của kỳ này."),
              (f"Số hợp tác xã lũy kế từ đầu năm {data.end.year}, theo tháng", _trend(data),
               NO_DATA)]
    body = "\n".join([_header(data), "<main>", _cards(data), '<div class="charts">',
                      *(_chart(i, *chart) for i, chart in enumerate(charts)),
                      "</div>", *(_table(t, data) for t in GROUP_TABLES), _plan_table(data),
                      _locality_table(data), _across_reform_table(data), _footer(data),
                      "</main>"])
    page = (f'<!DOCTYPE html>\n<html lang="vi">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{escape(TITLE)} — {escape(period_vi(data.start, data.end))}</title>\n"
            f"<style>{STYLE}</style>\n<script>{get_plotlyjs()}</script>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")
    path.write_text(page, encoding="utf-8")
    return path


# --- charts ---------------------------------------------------------------------------------

def _figure(traces, **layout):
    import plotly.graph_objects as go

    figure = go.Figure(traces)
    figure.update_layout(separators=",.", template="plotly_white", height=380,
                         margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         font={"family": "Segoe UI, Arial, DejaVu Sans, sans-serif", "size": 13},
                         legend={"orientation": "h", "y": -0.12}, **layout)
    return figure


def _sectors(data: PeriodData):
    import plotly.graph_objects as go

    rows = [(name, data.values.get(("HTX_BY_SECTOR", f"sector={key}")),
             data.values.get(("HTX_SECTOR_SHARE", f"sector={key}")))
            for key, name in HTX_SECTORS.items()]
    rows = [(name, count, share) for name, count, share in rows if count is not None]
    if not rows:
        return None
    rows.reverse()  # plotly draws horizontal bars bottom-up: the plan's first sector on top
    return _figure([go.Bar(
        y=[name for name, _, _ in rows], x=[float(count.value) for _, count, _ in rows],
        orientation="h", marker_color=COLORS["actual"], cliponaxis=False,
        text=[f"{number_vi(count.value)} HTX"
              + (f" ({number_vi(share.value, 1)}%)" if share else "") for _, count, share in rows],
        textposition="outside", hovertemplate="%{y}: %{x:,.0f} HTX<extra></extra>")],
        xaxis={"title": "Số hợp tác xã", "tickformat": ",.0f",
               "range": [0, max(float(count.value) for _, count, _ in rows) * 1.3]},
        yaxis={"automargin": True}, showlegend=False)


def _plan(data: PeriodData):
    import plotly.graph_objects as go

    lines = plan_lines(data)
    if not lines:
        return None
    names = [line.label for line in lines]
    notes = [f"đạt {number_vi(line.attainment_pct, 1)}%" if line.attainment_pct is not None
             else "" for line in lines]
    return _figure([
        go.Bar(name=f"Kế hoạch năm {data.end.year}", x=names, y=[l.target for l in lines],
               marker_color=COLORS["target"], text=[number_vi(l.target, l.decimals) for l in lines],
               textposition="outside", cliponaxis=False),
        go.Bar(name=f"Thực hiện đến {date_vi(data.end)}", x=names, y=[l.value for l in lines],
               marker_color=COLORS["actual"], cliponaxis=False,
               text=[f"{number_vi(line.value, line.decimals)}<br>{note}"
                     for line, note in zip(lines, notes)],
               textposition="outside")],
        barmode="group", yaxis={"tickformat": ",.0f", "title": _common_unit(lines),
                                "range": [0, max(max(l.target, l.value) for l in lines) * 1.2]},
        uniformtext={"minsize": 11, "mode": "show"})


def _common_unit(lines) -> str:
    units = {line.unit for line in lines}
    return units.pop() if len(units) == 1 else ""


def _credit_funds(data: PeriodData):
    import plotly.graph_objects as go

    amounts = {code: data.values.get((code, "")) for code in
               ("QTDND_TOTAL_CAPITAL", "QTDND_EQUITY", "QTDND_DEPOSITS", "QTDND_LOANS")}
    if any(v is None for v in amounts.values()) or not amounts["QTDND_TOTAL_CAPITAL"].value:
        return None
    total, equity, deposits, loans = (float(v.value) for v in amounts.values())
    columns = ["Nguồn vốn hoạt động", "Sử dụng vốn"]

    def part(name, values, color):
        return go.Bar(name=name, x=columns, y=values, marker_color=color,
                      text=[number_vi(v) if v else "" for v in values], textposition="inside",
                      hovertemplate=f"{name}: %{{y:,.0f}} triệu đồng<extra></extra>")

    figure = _figure([part("Vốn chủ sở hữu", [equity, 0], COLORS["equity"]),
                      part("Vốn huy động", [deposits, 0], COLORS["deposits"]),
                      part("Nguồn vốn khác", [total - equity - deposits, 0], COLORS["other"]),
                      part("Dư nợ cho vay", [0, loans], COLORS["loans"])],
                     barmode="stack", legend_traceorder="normal",
                     yaxis={"title": "triệu đồng", "tickformat": ",.0f",
                                             "range": [0, max(total, loans) * 1.15]})
    figure.add_annotation(x=columns[0], y=total, yshift=12, showarrow=False,
                          text=f"Tổng nguồn vốn: {number_vi(total)}")
    return figure


def _trend(data: PeriodData):
    import plotly.graph_objects as go

    totals, new = data.trend["HTX_TOTAL"], dict(data.trend["HTX_NEW"])
    if not totals:
        return None
    months = [f"Tháng {end.month}" for end, _ in totals]
    return _figure([
        go.Bar(name="Thành lập mới (lũy kế)", x=months,
               y=[float(new.get(end, 0)) for end, _ in totals], marker_color=COLORS["new"],
               hovertemplate="%{x}: %{y:,.0f} HTX thành lập mới<extra></extra>"),
        go.Scatter(name="Tổng số hợp tác xã", x=months, y=[float(v) for _, v in totals],
                   mode="lines+markers+text", line={"color": COLORS["actual"], "width": 3},
                   text=[number_vi(v) for _, v in totals], textposition="top center",
                   hovertemplate="%{x}: %{y:,.0f} HTX<extra></extra>")],
        yaxis={"title": "Số hợp tác xã", "tickformat": ",.0f",
               "range": [0, max(float(v) for _, v in totals) * 1.15]})


def _chart(index: int, title: str, figure, empty: str) -> str:
    inner = (figure.to_html(full_html=False, include_plotlyjs=False, config=CONFIG,
                            div_id=f"chart-{index}")
             if figure is not None else f'<p class="empty">{escape(empty)}</p>')
    return f'<div class="chart"><h2>{escape(title)}</h2>{inner}</div>'


# --- text and tables ------------------------------------------------------------------------

def _header(data: PeriodData) -> str:
    return (f"<header><h1>{escape(TITLE)}</h1><p>{escape(period_vi(data.start, data.end))}</p>"
            "</header>")


CARDS = {"HTX_TOTAL": None, "HTX_NEW": None, "LHHTX_TOTAL": None, "THT_TOTAL": None,
         "QTDND_TOTAL": None, "LENDING_OUTSTANDING": "Dư nợ cho vay hỗ trợ hợp tác xã"}


def _cards(data: PeriodData) -> str:
    cards = []
    for code, label in CARDS.items():
        found = data.values.get((code, ""))
        if found is None:
            continue
        unit = display(code).unit
        note = (f" · đạt {number_vi(found.attainment_pct, 1)}% kế hoạch"
                if found.attainment_pct is not None else "")
        cards.append(f'<div class="card"><div class="figure">{indicator_vi(code, found.value)}'
                     f' <small>{escape(unit)}</small></div><div class="label">'
                     f"{escape(label or display(code).name)}{escape(note)}</div></div>")
    return f'<div class="cards">{"".join(cards)}</div>'


def _cell(value, decimals: int) -> str:
    return "-" if value is None else number_vi(value, decimals)


def _table(table, data: PeriodData) -> str:
    head = ["STT", "Chỉ tiêu", "Đơn vị tính", "Thực hiện"] + ([SHARE_HEADER] if table.has_share
                                                               else [])
    rows = []
    for line in fill(table, data.values):
        kind = "heading" if line.heading and line.level == 0 else "sub" if line.heading else ""
        cells = [f'<td class="stt">{escape(line.stt)}</td>',
                 f'<td class="label" style="padding-left:{8 + 18 * line.level}px">'
                 f"{escape(line.label)}</td>",
                 f'<td class="unit">{escape("" if line.heading else line.unit)}</td>',
                 f'<td class="num">{"" if line.heading else _cell(line.value, line.decimals)}</td>']
        if table.has_share:
            cells.append(f'<td class="num">{_cell(line.share, 1) if line.share is not None else ""}'
                         "</td>")
        rows.append(f'<tr class="{kind}">{"".join(cells)}</tr>')
    return _section(table.title, head, rows)


def _plan_table(data: PeriodData) -> str:
    year = data.end.year
    head = ["STT", "Chỉ tiêu", "Đơn vị tính", f"Kế hoạch năm {year}", "Văn bản giao chỉ tiêu",
            f"Thực hiện đến {date_vi(data.end)}", "Tỷ lệ so với kế hoạch (%)",
            f"Ước thực hiện cả năm {year}", "Ước tỷ lệ cả năm so với kế hoạch (%)"]
    rows = [f'<tr><td class="stt">{l.stt}</td><td>{escape(l.label)}</td>'
            f'<td class="unit">{escape(l.unit)}</td>'
            f'<td class="num">{number_vi(l.target, l.decimals)}</td>'
            f'<td class="unit">{escape(l.document) or "-"}</td>'
            f'<td class="num">{number_vi(l.value, l.decimals)}</td>'
            f'<td class="num">{_cell(l.attainment_pct, 1)}</td>'
            f'<td class="num">{_cell(l.estimate, l.decimals)}</td>'
            f'<td class="num">{_cell(l.estimate_attainment_pct, 1)}</td></tr>'
            for l in plan_lines(data)]
    return _section(plan_title(data.end), head, rows or [
        f'<tr><td colspan="9">Chưa có chỉ tiêu kế hoạch năm {year}.</td></tr>'],
        "Ước thực hiện cả năm (kỳ lũy kế kết thúc trước 31/12): chỉ tiêu tại thời điểm = thực "
        "hiện + (cả năm trước − cùng kỳ năm trước); chỉ tiêu phát sinh trong kỳ = thực hiện × cả "
        "năm trước ÷ cùng kỳ năm trước.")


def _locality_table(data: PeriodData) -> str:
    head = ["STT", "Đơn vị hành chính", "Mã ĐVHC", "Tổng số hợp tác xã",
            "Hợp tác xã thành lập mới", "Tổng số tổ hợp tác"]
    rows = [f'<tr class="{"heading" if l.total else ""}"><td class="stt">{l.stt}</td>'
            f"<td>{escape(l.label)}</td><td class=\"unit\">{l.code}</td>"
            + "".join(f'<td class="num">{_cell(v, 0)}</td>' for v in l.values) + "</tr>"
            for l in locality_lines(data)]
    shares = "; ".join(f"{name}: {'-' if share is None else number_vi(share, 1) + '%'}"
                       for name, share in unplaced_shares(data))
    return _section(LOCALITY_TITLE, head, rows,
                    f"Tỷ lệ “{UNPLACED_VI}” (chất lượng dữ liệu: đơn vị không xác định được địa "
                    f"bàn theo bản đồ hành chính có hiệu lực ngày {date_vi(data.end)}) — {shares}.")


def _across_reform_table(data: PeriodData) -> str:
    if not data.across_reform:
        return ""
    head = ["STT", "Huyện cũ / đơn vị hành chính mới", "Mã ĐVHC",
            f"Số HTX cùng kỳ năm {data.end.year - 1} (địa bàn cũ)",
            f"Số HTX đến {date_vi(data.end)}", "Tổng số HTX của đơn vị mới"]
    rows = [f'<tr class="{"" if l.level else "heading"}"><td class="stt">{l.stt}</td>'
            f'<td style="padding-left:{8 + 18 * l.level}px">{escape(l.label)}</td>'
            f'<td class="unit">{l.code}</td>'
            f'<td class="num">{"" if l.level else _cell(l.previous, 0)}</td>'
            f'<td class="num">{_cell(l.current, 0)}</td>'
            f'<td class="num">{_cell(l.unit_total, 0) if l.level else ""}</td></tr>'
            for l in across_reform_lines(data)]
    return _section(ACROSS_REFORM_TITLE, head, rows,
                    ACROSS_REFORM_NOTE.format(unplaced=UNPLACED_VI))


def _section(title: str, head: list[str], rows: list[str], note: str = "") -> str:
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    below = f'<p class="note">{escape(note)}</p>' if note else ""
    return (f'<section class="table"><h2>{escape(title)}</h2><table><thead><tr>{header}</tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table>{below}</section>')


def _footer(data: PeriodData) -> str:
    refreshed = (f"{data.refreshed_at.astimezone():%d/%m/%Y %H:%M}" if data.refreshed_at
                 else "chưa rõ")
    return (f"<footer>Nguồn: kho dữ liệu htx-data (mart.plan_indicator), làm mới lúc {refreshed}."
            " Số liệu được tính chính xác và hiển thị đã làm tròn; danh sách đơn vị tạo nên từng"
            f" số liệu: mart.plan_indicator_members. Bảng tương ứng: {escape(PLAN_SHEET)} và các"
            " biểu 01–05 của tệp XLSX cùng kỳ.</footer>")
